#!/usr/bin/env python3
"""The WebChat sample in real browsers (Debian's chromium, driven by chromedriver
through selenium): two pages in room foo, one in bar.

Checks, as a person would see them:
  - a message typed in one foo page appears in the other foo page (and in the
    sender's own, as the seeds' room does);
  - it never appears in the bar page, whose own messages still arrive;
  - markup in a message shows as text;
  - a page opened later shows the room's backlog, escaped.
Screenshots of each page go to the output folder. Prints
`browser: N passed, M failed` and exits non-zero on a failure.

Usage: webchat_test.py --binary PATH/WebChat --output DIR
"""
import argparse
import os
import subprocess
import sys
import time
import traceback

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 15  # seconds: generous, the machine is shared; the measured latency is printed


def browser():
    options = Options()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=900,650", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def messages(driver):
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#messages li")]


def send(driver, text):
    box = driver.find_element(By.ID, "message")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def wait_for_message(driver, text, timeout=WAIT):
    WebDriverWait(driver, timeout, poll_frequency=0.02).until(lambda d: text in messages(d))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)

    server = subprocess.Popen([args.binary, "--host", "127.0.0.1", "--port", "0", "--no-access-log"],
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()  # "Serving on http://127.0.0.1:PORT/"
    base = line.strip().split("Serving on ")[-1].rstrip("/")
    print(f"WebChat at {base}", flush=True)

    results = []
    drivers = {}

    def check(name, fn):
        try:
            fn()
            results.append((name, True))
            print(f"ok: {name}", flush=True)
        except Exception:
            results.append((name, False))
            print(f"FAILED: {name}", flush=True)
            traceback.print_exc()

    try:
        ann, bob, cat = browser(), browser(), browser()
        drivers = {"ann-foo": ann, "bob-foo": bob, "cat-bar": cat}

        # Ann goes the way a person does: name page, room list, room.
        ann.get(base + "/")
        name = ann.find_element(By.ID, "name")
        name.send_keys("ann")
        name.send_keys(Keys.ENTER)
        WebDriverWait(ann, WAIT).until(lambda d: d.find_elements(By.LINK_TEXT, "foo"))
        ann.find_element(By.LINK_TEXT, "foo").click()
        WebDriverWait(ann, WAIT).until(lambda d: d.find_elements(By.ID, "message"))
        bob.get(base + "/foo/bob")
        cat.get(base + "/bar/cat")
        for d in (bob, cat):
            WebDriverWait(d, WAIT).until(lambda d: d.find_elements(By.ID, "message"))

        hello = "hello from ann <b>not bold</b> & <script>alert(1)</script>"

        def foo_to_foo():
            started = time.monotonic()
            send(ann, hello)
            wait_for_message(bob, "ann:" + hello)
            print(f"  appeared in bob's page after {time.monotonic() - started:.3f} s", flush=True)
            wait_for_message(ann, "ann:" + hello)

        def never_in_bar():
            # Cat's own message reaches cat's page, so cat's polls have run since ann spoke.
            send(cat, "cat was here")
            wait_for_message(cat, "cat:cat was here")
            assert all("ann:" not in m for m in messages(cat)), messages(cat)
            # And bar's message never reaches foo.
            send(bob, "bob answers")
            wait_for_message(ann, "bob:bob answers")
            assert all("cat:" not in m for m in messages(ann) + messages(bob))

        def markup_is_text():
            for d in (ann, bob):
                assert not d.find_elements(By.CSS_SELECTOR, "#messages b"), "markup rendered"
                assert not d.find_elements(By.CSS_SELECTOR, "#messages script"), "script inserted"
            alerts = bob.execute_script("return typeof window.__alerted")
            assert alerts == "undefined"

        def backlog_on_join():
            dan = browser()
            drivers["dan-foo-later"] = dan
            dan.get(base + "/foo/dan")
            WebDriverWait(dan, WAIT).until(lambda d: d.find_elements(By.ID, "message"))
            got = messages(dan)
            assert "ann:" + hello in got, got
            assert not dan.find_elements(By.CSS_SELECTOR, "#messages b")

        check("a message typed in one foo page appears in the other", foo_to_foo)
        check("foo's message never appears in bar", never_in_bar)
        check("markup in a message shows as text", markup_is_text)
        check("a page opened later shows the backlog, escaped", backlog_on_join)
    except Exception:
        results.append(("setup", False))
        traceback.print_exc()
    finally:
        for label, d in drivers.items():
            try:
                path = os.path.join(args.output, f"{label}.png")
                d.save_screenshot(path)
                print(f"screenshot: {path}", flush=True)
            except Exception:
                traceback.print_exc()
            try:
                d.quit()
            except Exception:
                pass
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"browser: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
