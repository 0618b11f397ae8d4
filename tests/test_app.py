"""The app boots, serves the layout and sends the security headers."""


def test_guidelines_page_renders_in_layout(client):
    response = client.get("/guidelines")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="#main"' in html and "<main" in html
    assert "Community guidelines" in html


def test_security_headers(client):
    response = client.get("/guidelines")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_unknown_page_is_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "couldn&#39;t find that page" in response.get_data(as_text=True)
