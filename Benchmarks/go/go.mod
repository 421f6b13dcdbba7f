module green-peer-go

go 1.19
