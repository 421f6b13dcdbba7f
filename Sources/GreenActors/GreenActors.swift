import Green
