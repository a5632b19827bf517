"""MSAL Python (Debian python3-msal) and requests against the exo-cba emulator, unpatched.

Run by test/conformance.msal-python.test.ts with /usr/bin/python3. Reads one JSON object on stdin
(authority host, tenant, endpoints, app id, certificate) and prints one JSON object of facts per step;
the TypeScript test asserts them. TLS is verified against the emulator's CA via REQUESTS_CA_BUNDLE.
"""

import base64
import json
import sys
import time

import msal
import requests
from msal.oauth2cli.assertion import JwtAssertionCreator


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def main():
    cfg = json.load(sys.stdin)
    authority = f"{cfg['authorityHost']}/{cfg['tenantId']}"
    out = {"msal": msal.__version__, "requests": requests.__version__}
    if cfg["phase"] == "app":
        app_only(cfg, authority, out)
    else:
        user(cfg, authority, out)
    print(json.dumps(out))


def app_only(cfg, authority, out):
    # 1. The x5t MSAL Python puts in its assertions by default: base64url of the SHA-1, padded.
    creator = JwtAssertionCreator(cfg["keyPem"], "RS256", sha1_thumbprint=cfg["sha1Hex"])
    assertion = creator.create_normal_assertion("aud", "iss")
    if isinstance(assertion, bytes):
        assertion = assertion.decode("ascii")
    header = json.loads(base64.urlsafe_b64decode(assertion.split(".")[0] + "=="))
    out["x5t"] = header["x5t"]

    # 2. Client credentials with the certificate; instance discovery asked of the emulator itself.
    cca = msal.ConfidentialClientApplication(
        cfg["appId"],
        authority=authority,
        client_credential={"private_key": cfg["keyPem"], "thumbprint": cfg["sha1Hex"]},
        instance_discovery=f"{cfg['authorityHost']}/common/discovery/instance",
    )
    result = cca.acquire_token_for_client(scopes=["https://outlook.office365.com/.default"])
    out["clientCredentials"] = {
        "error": result.get("error"),
        "errorCodes": result.get("error_codes"),
        "aud": claims(result["access_token"])["aud"] if "access_token" in result else None,
        "roles": claims(result["access_token"]).get("roles") if "access_token" in result else None,
    }

    # 3. InvokeCommand with requests, following @odata.nextLink page by page.
    url = f"{cfg['exchangeEndpoint']}/adminapi/beta/{cfg['tenantDomain']}/InvokeCommand"
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": "Unlimited"}}}
    headers = {
        "Authorization": f"Bearer {result.get('access_token')}",
        "Prefer": "odata.maxpagesize=7",
        "X-AnchorMailbox": f"UPN:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{cfg['tenantDomain']}",
    }
    pages, rows, statuses = 0, [], []
    while url:
        r = requests.post(url, json=body, headers=headers, timeout=60)
        statuses.append(r.status_code)
        if r.status_code != 200:
            break
        data = r.json()
        pages += 1
        rows.extend(data.get("value", []))
        url = data.get("@odata.nextLink")
    out["invoke"] = {
        "statuses": sorted(set(statuses)),
        "pages": pages,
        "rows": len(rows),
        "distinct": len({row.get("ExternalDirectoryObjectId") or row.get("Guid") for row in rows}),
    }



def user(cfg, authority, out):
    # 4. Device code (auto-approved by the emulator), then a silent renewal after the token expired.
    pca = msal.PublicClientApplication(cfg["publicClientId"], authority=authority, instance_discovery=False)
    scopes = ["https://graph.microsoft.com/.default"]
    flow = pca.initiate_device_flow(scopes=scopes)
    first = pca.acquire_token_by_device_flow(flow)
    accounts = pca.get_accounts()
    out["deviceCode"] = {
        "userCode": bool(flow.get("user_code")),
        "error": first.get("error"),
        "refreshToken": bool(first.get("refresh_token")),
        "username": accounts[0]["username"] if accounts else None,
        "aud": claims(first["access_token"])["aud"] if "access_token" in first else None,
    }
    time.sleep(cfg["tokenLifetimeSeconds"] + 1)
    renewed = pca.acquire_token_silent(scopes, account=accounts[0]) if accounts else None
    renewed = renewed or {}
    me = requests.get(
        f"{cfg['graphEndpoint']}/v1.0/me",
        headers={"Authorization": f"Bearer {renewed.get('access_token')}"},
        timeout=60,
    )
    out["silent"] = {
        "error": renewed.get("error"),
        "newToken": bool(renewed.get("access_token")) and renewed.get("access_token") != first.get("access_token"),
        "meStatus": me.status_code,
        "upn": me.json().get("userPrincipalName") if me.status_code == 200 else None,
    }


if __name__ == "__main__":
    main()
