"""`bbgen validate`: every public route carries an authentication decision the edge can keep."""

from __future__ import annotations

from collections.abc import Callable

from bbgen.validate import Report

from treekit import AUTH, baseline, errors, needs_tools, with_gateway

pytestmark = needs_tools

Check = Callable[..., Report]
INGRESS = "components/web/base/ingress-web.yaml"
HTTPROUTE = "components/web/base/httproute-web.yaml"


def _auth(report: Report) -> list[str]:
    return [str(f) for f in report.findings if f.check == "auth"]


def test_a_route_without_a_decision_is_a_located_error(check_tree: Check) -> None:
    files = baseline()
    del files[INGRESS]["metadata"]["annotations"][AUTH]
    (hit,) = errors(check_tree(files), "auth")
    assert hit.startswith(f"{INGRESS}: Ingress/web/web: [auth] serves web.example.org with no authentication decision ({AUTH})")
    assert "`public: true`" in hit


def test_nginx_basic_auth_annotations_are_a_decision(check_tree: Check) -> None:
    files = baseline()
    annotations = files[INGRESS]["metadata"]["annotations"]
    del annotations[AUTH]
    annotations["nginx.ingress.kubernetes.io/auth-type"] = "basic"
    annotations["nginx.ingress.kubernetes.io/auth-secret"] = "web-basic-auth"
    assert _auth(check_tree(files)) == []


def test_basic_claimed_but_not_configured_is_an_error(check_tree: Check) -> None:
    files = baseline()
    files[INGRESS]["metadata"]["annotations"][AUTH] = "basic"
    (hit,) = errors(check_tree(files), "auth")
    assert "sets no nginx.ingress.kubernetes.io/auth-type: basic, so web.example.org is open" in hit


def test_public_is_a_warning_listing_the_host(check_tree: Check) -> None:
    files = baseline()
    files[INGRESS]["metadata"]["annotations"][AUTH] = "public"
    report = check_tree(files)
    assert report.ok
    (warning,) = [f for f in report.warnings if f.check == "auth"]
    assert warning.resource == "Ingress/web/web" and "serves web.example.org without authentication (`public: true`" in warning.message


def test_an_unknown_decision_and_a_bare_httproute_are_errors(check_tree: Check) -> None:
    files = with_gateway(baseline())
    files[HTTPROUTE]["metadata"]["annotations"][AUTH] = "trust-me"
    (hit,) = errors(check_tree(files), "auth")
    assert "bbgen.dev/auth=trust-me is not one of basic, oidc, builtin, token, app, public" in hit
    del files[HTTPROUTE]["metadata"]["annotations"]
    (hit,) = errors(check_tree(files), "auth")
    assert hit.startswith(f"{HTTPROUTE}: HTTPRoute/web/web: [auth] serves web.example.org with no authentication decision")


def test_an_app_left_to_its_own_authentication_is_a_warning(check_tree: Check) -> None:
    files = baseline()
    files[INGRESS]["metadata"]["annotations"][AUTH] = "app"
    report = check_tree(files)
    assert report.ok
    (warning,) = [f for f in report.warnings if f.check == "auth"]
    assert "with only the custom app's own authentication, which bbgen cannot check" in warning.message
