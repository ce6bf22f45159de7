#!/usr/bin/python3
"""The tests' stand-in for a CI system's OIDC issuer (no network).

  idp.py keygen DIR            RSA-2048 issuer key DIR/issuer.pem, a second
                               key DIR/other.pem (a kid the JWKS lacks) and
                               DIR/jwks.json with the first key (kid "k1")
  idp.py mint DIR SHAPE [k=v ...] [--iat-offset S] [--lifetime S]
             [--nbf-offset S] [--kid K] [--key other] [--alg none|HS256]
             [--tamper k=v] [--del k]
                               a token whose claims have the shape GitHub
                               Actions (github) or GitLab CI (gitlab)
                               documents, values changed by k=v

Only the standard library and the openssl command: RS256 is PKCS#1 v1.5
over SHA-256 (openssl dgst -sha256 -sign).  Values are made up; only the
shapes follow the documentation.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

GITHUB_ISS = "https://token.actions.githubusercontent.com"
GITLAB_ISS = "https://gitlab.example.test"
AUDIENCE = "signgate-test"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def keygen(d):
    os.makedirs(d, exist_ok=True)
    for name in ("issuer", "other"):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", f"{d}/{name}.pem"],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", f"{d}/{name}.pem", "-pubout",
                        "-out", f"{d}/{name}.pub.pem"], check=True, capture_output=True)
    mod = subprocess.run(["openssl", "rsa", "-in", f"{d}/issuer.pem", "-noout", "-modulus"],
                         check=True, capture_output=True, text=True).stdout
    n = bytes.fromhex(mod.strip().split("=", 1)[1])
    jwks = {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
                      "n": b64u(n), "e": b64u((65537).to_bytes(3, "big"))}]}
    with open(f"{d}/jwks.json", "w") as f:
        json.dump(jwks, f)
    os.chmod(f"{d}/jwks.json", 0o600)


def github_claims(now):
    # The documented shape of a GitHub Actions ID token for a release
    # workflow run on a tag push (values invented).
    return {
        "jti": "github-" + os.urandom(8).hex(),
        "sub": "repo:octo-org/octo-app:environment:release",
        "environment": "release",
        "aud": AUDIENCE,
        "ref": "refs/tags/v1.2.3",
        "sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "repository": "octo-org/octo-app",
        "repository_owner": "octo-org",
        "actor_id": "12",
        "repository_visibility": "private",
        "repository_id": "74",
        "repository_owner_id": "65",
        "run_id": "4711",
        "run_number": "10",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "actor": "octocat",
        "workflow": "release",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_type": "tag",
        "workflow_ref": "octo-org/octo-app/.github/workflows/release.yml@refs/tags/v1.2.3",
        "workflow_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "job_workflow_ref": "octo-org/octo-app/.github/workflows/release.yml@refs/tags/v1.2.3",
        "job_workflow_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "iss": GITHUB_ISS,
        "nbf": now - 5,
        "exp": now + 300,
        "iat": now,
    }


def gitlab_claims(now):
    # The documented shape of a GitLab CI ID token (id_tokens:) for a tag
    # pipeline (values invented).
    return {
        "namespace_id": "72",
        "namespace_path": "octo-group",
        "project_id": "20",
        "project_path": "octo-group/octo-app",
        "user_id": "1",
        "user_login": "release-bot",
        "user_email": "bot@example.test",
        "pipeline_id": "574",
        "pipeline_source": "push",
        "job_id": "302",
        "ref": "v1.2.3",
        "ref_type": "tag",
        "ref_path": "refs/tags/v1.2.3",
        "ref_protected": "true",
        "environment": "release",
        "environment_protected": "true",
        "deployment_tier": "production",
        "runner_id": 1,
        "runner_environment": "gitlab-hosted",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "ci_config_ref_uri": "gitlab.example.test/octo-group/octo-app//.gitlab-ci.yml@refs/tags/v1.2.3",
        "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "project_visibility": "private",
        "jti": "gitlab-" + os.urandom(8).hex(),
        "iss": GITLAB_ISS,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "sub": "project_path:octo-group/octo-app:ref_type:tag:ref:v1.2.3",
        "aud": AUDIENCE,
    }


def value(v):
    # "#123" is the number 123; anything else a string
    return int(v[1:]) if v.startswith("#") else v


def mint(d, shape, args):
    # IDP_NOW fixes the clock (seed corpora for the fuzz target)
    now = int(os.environ.get("IDP_NOW") or time.time())
    kid, key, alg = "k1", "issuer", "RS256"
    iat_off, lifetime, nbf_off = 0, None, None
    sets, tampers, dels = [], [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--iat-offset", "--lifetime", "--nbf-offset", "--kid", "--key", "--alg",
                 "--tamper", "--del"):
            v = args[i + 1]
            i += 2
            if a == "--iat-offset":
                iat_off = int(v)
            elif a == "--lifetime":
                lifetime = int(v)
            elif a == "--nbf-offset":
                nbf_off = int(v)
            elif a == "--kid":
                kid = v
            elif a == "--key":
                key = v
            elif a == "--alg":
                alg = v
            elif a == "--tamper":
                tampers.append(v.split("=", 1))
            else:
                dels.append(v)
            continue
        sets.append(a.split("=", 1))
        i += 1
    c = github_claims(now) if shape == "github" else gitlab_claims(now)
    c["iat"] = now + iat_off
    c["nbf"] = c["iat"] - 5 if nbf_off is None else now + nbf_off
    c["exp"] = c["iat"] + (300 if lifetime is None else lifetime)
    for k, v in sets:
        c[k] = value(v)
    for k in dels:
        c.pop(k, None)
    header = {"typ": "JWT", "alg": alg, "kid": kid}
    if alg == "none":
        header = {"typ": "JWT", "alg": "none"}
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(c, separators=(",", ":")).encode())
    signing_input = f"{h}.{p}".encode()
    if alg == "none":
        sig = b""
    elif alg == "HS256":
        # The classic confusion: HMAC keyed with the issuer's public key.
        with open(f"{d}/issuer.pub.pem", "rb") as f:
            sig = hmac.new(f.read(), signing_input, hashlib.sha256).digest()
    else:
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", f"{d}/{key}.pem"],
                             input=signing_input, check=True, capture_output=True).stdout
    if tampers:
        for k, v in tampers:
            c[k] = value(v)
        p = b64u(json.dumps(c, separators=(",", ":")).encode())
    print(f"{h}.{p}.{b64u(sig)}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "mint":
        mint(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
