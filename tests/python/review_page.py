"""The airlock's review page (`workbench serve`) as committee reviewers meet it, driven in
headless Chromium (Debian's, through Playwright) with TOTP codes computed by pyotp.

Usage: python review_page.py BASE_URL REQUEST_ID PEOPLE.json SCREENSHOT_DIR

PEOPLE.json: {"reviewers": [P, P], "author": P, "outsider": P}, each P
{"user", "password", "uri"} (the otpauth:// URI of their second factor).

Tries the doors first (no login, a wrong code, a replayed code, a forged and a cross-site
vote, the author voting, an outsider reading), then the first reviewer opens the request,
reads its flagged cells and approves; the second sees no earlier vote (blind) and
approves. Prints a JSON summary; the Rust test compares it with the store and the CSV.
"""

import json
import os
import sys
import time

import pyotp
from playwright.sync_api import sync_playwright


def fresh_code(uri):
    # A code with at least 5 s of its window left, so a slow page cannot push it out.
    totp = pyotp.parse_uri(uri)
    while 30 - (time.time() % 30) < 5:
        time.sleep(1)
    return totp.now()


def login(page, base, person, code):
    page.goto(f"{base}/login")
    page.fill("#user", person["user"])
    page.fill("#password", person["password"])
    page.fill("#code", code)
    page.click("#login_submit")
    page.wait_for_load_state()
    return page


def flagged(page):
    return page.eval_on_selector_all(
        "td.flagged",
        "els => els.map(e => [Number(e.dataset.row), e.dataset.column, e.dataset.rules, e.textContent])",
    )


def main():
    base, request_id, people_file, shots = sys.argv[1:5]
    with open(people_file) as f:
        people = json.load(f)
    first, second = people["reviewers"]
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        try:
            # No session: the request page sends the browser to the login.
            anon = browser.new_context().new_page()
            anon.goto(f"{base}/requests/{request_id}")
            out["anonymous_url"] = anon.url

            # A wrong second factor is refused, naming the rule.
            wrong = browser.new_context().new_page()
            right = pyotp.parse_uri(first["uri"]).now()
            login(wrong, base, first, f"{(int(right) + 1) % 1_000_000:06d}")
            out["wrong_code_url"] = wrong.url
            out["wrong_code_page"] = wrong.inner_text("body")

            # The first reviewer logs in and opens the request from the list.
            ctx1 = browser.new_context(viewport={"width": 1280, "height": 900})
            page1 = ctx1.new_page()
            code1 = fresh_code(first["uri"])
            login(page1, base, first, code1)
            out["first_after_login_url"] = page1.url
            out["first_list"] = page1.inner_text("main")
            page1.click(f"a.request:text('{request_id}')")
            page1.wait_for_selector("#object")
            out["first_flagged"] = flagged(page1)
            out["flagged_headers"] = page1.eval_on_selector_all(
                "th.flagged", "els => els.map(e => [e.textContent, e.dataset.rules])"
            )
            out["findings"] = page1.eval_on_selector_all(
                "#findings tr.finding td.check", "els => els.map(e => e.textContent)"
            )
            out["scripts_on_page"] = page1.evaluate("document.scripts.length")
            out["object_elements"] = page1.evaluate(
                "document.querySelectorAll('#object img, #object b, #object script').length"
            )
            out["object_text"] = page1.inner_text("#object")
            out["project_text"] = page1.inner_text("#project")
            out["releases_text"] = page1.inner_text("#releases")
            page1.screenshot(path=os.path.join(shots, "review-request.png"), full_page=True)

            # The same code once more, in another browser: a replay, refused.
            replay = browser.new_context().new_page()
            login(replay, base, first, code1)
            out["replay_page"] = replay.inner_text("body")
            out["replay_url"] = replay.url

            # A vote posted from another site, with the right token, is refused; so is a
            # vote without the page's token.
            csrf = page1.get_attribute("#vote_form input[name=csrf]", "value")
            url = f"{base}/requests/{request_id}/vote"
            cross = ctx1.request.post(
                url,
                headers={"Origin": "http://attacker.example"},
                form={"csrf": csrf, "vote": "approve", "comment": "x"},
                max_redirects=0,
            )
            out["cross_site_vote"] = [cross.status, cross.text()[:2000]]
            forged = ctx1.request.post(
                url, form={"vote": "approve", "comment": "x"}, max_redirects=0
            )
            out["forged_vote"] = [forged.status, forged.text()[:2000]]

            page1.check("#vote_approve")
            page1.fill("#comment", "first reviewer: suppression holds")
            page1.click("#vote_submit")
            page1.wait_for_selector("#notice")
            out["first_notice"] = page1.inner_text("#notice")
            out["first_state"] = page1.inner_text("#state")

            # The author sees the request but has no vote; a vote they post is refused.
            ctx_a = browser.new_context()
            page_a = ctx_a.new_page()
            login(page_a, base, people["author"], fresh_code(people["author"]["uri"]))
            page_a.goto(f"{base}/requests/{request_id}")
            out["author_has_form"] = page_a.locator("#vote_form").count()
            author_csrf = page_a.get_attribute("form.logout input[name=csrf]", "value")
            own = ctx_a.request.post(
                url,
                form={"csrf": author_csrf, "vote": "approve", "comment": "mine"},
                max_redirects=0,
            )
            out["author_vote"] = [own.status, own.text()[:3000]]

            # Someone neither author nor reviewer learns nothing of the request.
            ctx_o = browser.new_context()
            page_o = ctx_o.new_page()
            login(page_o, base, people["outsider"], fresh_code(people["outsider"]["uri"]))
            resp = page_o.goto(f"{base}/requests/{request_id}")
            out["outsider"] = [resp.status, page_o.inner_text("main")]

            # The second reviewer: the first vote is hidden (blind) until theirs is in.
            ctx2 = browser.new_context(viewport={"width": 1280, "height": 900})
            page2 = ctx2.new_page()
            login(page2, base, second, fresh_code(second["uri"]))
            page2.goto(f"{base}/requests/{request_id}")
            out["second_reviews_before"] = page2.inner_text("#reviews")
            out["second_page_before"] = page2.inner_text("main")
            out["second_flagged"] = flagged(page2)
            page2.check("#vote_approve")
            page2.fill("#comment", "second reviewer: agreed")
            page2.click("#vote_submit")
            page2.wait_for_selector("#notice")
            out["second_notice"] = page2.inner_text("#notice")
            out["second_state"] = page2.inner_text("#state")
            out["second_reviews_after"] = page2.inner_text("#reviews")
            page2.screenshot(path=os.path.join(shots, "review-approved.png"), full_page=True)

            # Logging out ends the session: the page asks for a login again.
            page2.click("form.logout button")
            page2.wait_for_load_state()
            page2.goto(f"{base}/requests/{request_id}")
            out["after_logout_url"] = page2.url
        except Exception:
            # What was seen so far tells where the page went wrong.
            print(json.dumps(out, indent=1), file=sys.stderr)
            raise
        finally:
            browser.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
