from playwright.sync_api import sync_playwright
from scripts.browser import launch, rerun, settle, streamlit_server

with streamlit_server() as (url, _), sync_playwright() as pw:
    b = launch(pw)
    for name, vp in (("desk", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
        page = b.new_page(viewport=vp)
        page.goto(f"{url}/lessons?teacher=1")
        settle(page)
        page.screenshot(path=f"/tmp/shots/lessons_{name}.png", full_page=True)
        rerun(page, page.get_by_role("button", name="Start").first.click)
        settle(page)
        rerun(page, page.locator(".st-key-lesson_panel").get_by_role("button", name="Next").click)
        settle(page)
        panel = page.locator(".st-key-lesson_panel")
        panel.get_by_label("your prediction").fill("768, 768")
        rerun(page, panel.get_by_role("button", name="Check my prediction").click)
        settle(page)
        page.screenshot(path=f"/tmp/shots/lesson_{name}.png")
        page.goto(f"{url}/self_attention?lesson=five_steps&step=5")
        settle(page)
        page.screenshot(path=f"/tmp/shots/lesson5_{name}.png")
