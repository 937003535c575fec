"""Browser tests: the dashboard in headless Chromium (Playwright) against a real ``storestack serve``."""
