#!/usr/bin/env python3
"""Signs and funds the contracts of one département of a seeded base, through the API only.

For each contract of the département (seeded by seed_national.py, in draft): every party records
its signature and délibération (the EPCI party also becomes payee), the contract is submitted and
signed, then gets a committed funding commitment of four years (2025-2028) to its EPCI for 12
places of a crèche of 20 the EPCI runs, its schedule, and the payment of its first advance. So the département's summary has signed CTGs
in force, coverage to count and money per year and programme.

Standard library only. Usage: fund_department.py --base-url URL --token TOKEN --department 59
"""

import argparse
import concurrent.futures
import json
import sys
import urllib.error
import urllib.request
import uuid


class ApiFailure(Exception):
    pass


class Client:
    def __init__(self, base_url, token):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(self, method, path, body=None, headers=None):
        all_headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        all_headers.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise ApiFailure(f"{method} {path} -> {error.code}: {error.read().decode('utf-8', 'replace')}") from None

    def contracts(self, department):
        items, token = [], None
        while True:
            path = f"/v1/contracts?department={department}&page_size=200"
            page = self.call("GET", path + (f"&page_token={token}" if token else ""))
            items.extend(page["items"])
            token = page.get("next_page_token")
            if not token:
                return items


def if_match(resource):
    return {"If-Match": f'"{resource["version"]}"'}


def sign_and_fund(client, contract):
    path = f"/v1/contracts/{contract['id']}"
    contract = client.call("POST", f"{path}/transitions", {"action": "submit"}, if_match(contract))
    payee = None
    for party in client.call("GET", f"{path}/parties")["items"]:
        change = {"signed_on": "2024-02-01", "deliberation_date": "2024-01-20", "deliberation_ref": "DEL-2024-001"}
        if "pilot" in party["roles"]:
            change["roles"] = ["signatory", "pilot", "payee"]
            payee = party["organisation_id"]
        client.call("PATCH", f"{path}/parties/{party['id']}", change, if_match(party))
    contract = client.call("GET", path)
    client.call("POST", f"{path}/transitions", {"action": "sign"}, if_match(contract))
    # A bonus territoire EAJE funds a crèche its payee runs, of at least the places it pays for.
    epci = contract["perimeter"]["epcis"][0]
    commune = client.call("GET", f"/v1/communes?epci={epci}&page_size=1")["items"][0]["insee"]
    creche = client.call(
        "POST",
        "/v1/equipments",
        {"type": "eaje", "name": f"Multi-accueil {contract['id'][:8]}", "manager_id": payee, "commune": commune,
         "capacity_places": 20},
    )
    years = [{"year": year, "amount_cents": 1_600_000 * 12} for year in range(2025, 2029)]
    commitment = client.call(
        "POST",
        f"{path}/funding-commitments",
        {"payee_id": payee, "equipment_id": creche["id"], "programme": "bonus_territoire_eaje", "basis": "per_place",
         "origin": "ex_cej", "unit_amount_cents": 1_600_000, "units": 12, "years": years,
         "decision_date": "2024-12-01"},
    )
    commitment_path = f"/v1/funding-commitments/{commitment['id']}"
    committed = client.call("POST", f"{commitment_path}/transitions", {"action": "commit"}, if_match(commitment))
    schedule = client.call("POST", f"{commitment_path}/schedule/generate", {}, if_match(committed))
    first = next(line for line in schedule["lines"] if line["kind"] == "advance")
    client.call(
        "POST",
        f"{commitment_path}/payments",
        {"schedule_line_id": first["id"], "paid_on": "2025-03-05", "amount_cents": first["amount_cents"],
         "reference": f"MANDAT-{commitment['id'][:8]}"},
        {"Idempotency-Key": str(uuid.uuid4())},
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--department", required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    client = Client(args.base_url, args.token)
    contracts = client.contracts(args.department)
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        for future in concurrent.futures.as_completed([pool.submit(sign_and_fund, client, c) for c in contracts]):
            try:
                future.result()
            except ApiFailure as failure:
                print(f"fund_department: {failure}", file=sys.stderr)
                sys.exit(1)
    print(f"signed and funded {len(contracts)} contracts of {args.department}")


if __name__ == "__main__":
    main()
