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


def test_web_workers_go_without_the_migration_commands(tmp_path):
    """gunicorn.conf.py sets VILLAGE_MIGRATIONS=0 in its workers: they serve pages without alembic loaded (10 MB
    each); everywhere else (the flask CLI, the tests) `flask db` is there."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert "VILLAGE_MIGRATIONS=0" in (root / "gunicorn.conf.py").read_text()
    probe = (
        "import sys; from forum import create_app; app = create_app(); "
        "page = app.test_client().get('/guidelines'); "
        "print(page.status_code, 'db' in app.cli.commands, 'migrate' in app.extensions, "
        "any(name.split('.')[0] == 'alembic' for name in sys.modules))"
    )
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
        "SECRET_KEY": "x",
        "VILLAGE_INSTANCE_PATH": str(tmp_path),
    }
    answers = {}
    for setting in ("0", "1"):
        done = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=root,
            env={**env, "PATH": "/usr/bin:/bin", "VILLAGE_MIGRATIONS": setting},
            capture_output=True,
            text=True,
            check=True,
        )
        answers[setting] = done.stdout.split()
    assert answers["0"] == ["200", "False", "False", "False"]
    assert answers["1"] == ["200", "True", "True", "True"]


def test_the_wsgi_app_keeps_its_start_up_out_of_the_collectors_sight(tmp_path):
    """wsgi.py freezes what start-up made (gc.freeze): a full collection in a worker walks only what requests
    made since, not the app's modules and mappers (76 ms per full collection before, 0.03 ms after)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    probe = "import gc; import wsgi; print(gc.get_freeze_count())"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
        "SECRET_KEY": "x",
        "VILLAGE_INSTANCE_PATH": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert int(done.stdout) > 100_000  # the app's start-up objects, no longer scanned
