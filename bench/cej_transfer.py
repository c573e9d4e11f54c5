#!/usr/bin/env python3
"""Times the signature of CTGs that replace CEJs, and the reading of their financial annex.

In one département of a base seeded by seed_national.py, through the API only, for each round:
  - five CEJs (2019-2022), each signed by the CAF and one member commune of an EPCI, each with
    eight facilities run by that commune and a committed PSEJ commitment per facility: 40
    funded facilities in all;
  - the CTG (2023-2027) over that EPCI that replaces the five CEJs, its parties signed, submitted.
Then it signs the CTGs one after the other, timing each signature (one request: the signature,
the carrying of 40 facilities' CEJ money into 40 bonus territoire commitments, the history and the
feed, in one transaction), checks what each signature created, and reads every annex as JSON and
as CSV, timing each read.

Standard library only. Any unexpected answer stops the run with the answer printed. Writes a
shell-sourceable result file (--out) for bench/cej_transfer.sh.
"""

import argparse
import concurrent.futures
import shlex
import sys
import time

from payments_race import Client, Failure

CEJS_PER_CTG = 5
FACILITIES_PER_CEJ = 8
FACILITY_TYPES = ["eaje", "alsh_periscolaire", "rpe", "laep", "accueil_jeunes", "eaje", "alsh_extrascolaire", "eaje"]
CEJ_YEARS = range(2019, 2023)
CTG_YEARS = range(2023, 2028)


def if_match(resource):
    return {"If-Match": f'"{resource["version"]}"'}


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def items(client, path):
    return client.expect(200, "GET", path).json()["items"]


def organisation(client, kind, siren):
    """The organisation with this SIREN, created when absent."""
    found = items(client, f"/v1/organisations?siren={siren}")
    if found:
        return found[0]
    return client.expect(201, "POST", "/v1/organisations", {"kind": kind, "siren": siren}).json()


def sign_parties(client, contract_path):
    """Records the signature and délibération of every signatory party."""
    for party in items(client, f"{contract_path}/parties"):
        if "signatory" in party["roles"]:
            change = {"signed_on": "2022-12-15", "deliberation_date": "2022-12-01", "deliberation_ref": "DEL-2022-42"}
            client.expect(200, "PATCH", f"{contract_path}/parties/{party['id']}", change, if_match(party))


# A CAF signs with two names: its président and its directeur.
CAF_NAMES = {"signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"}


def add_party(client, contract_path, organisation_id, roles, names=None):
    body = {"organisation_id": organisation_id, "roles": roles, **(names or {})}
    client.expect(201, "POST", f"{contract_path}/parties", body)


def submit(client, contract_path, action="submit"):
    contract = client.expect(200, "GET", contract_path).json()
    return client.expect(200, "POST", f"{contract_path}/transitions", {"action": action}, if_match(contract)).json()


def cej(client, department, caf, commune, commune_org, round_no, index):
    """A signed CEJ of one commune with its eight funded facilities; returns its id and yearly money."""
    contract = client.expect(
        201,
        "POST",
        "/v1/contracts",
        {"kind": "cej", "title": f"CEJ {commune['name']} ({round_no}.{index})", "department": department,
         "start_date": "2019-01-01", "end_date": "2022-12-31", "fields": ["petite_enfance", "jeunesse"],
         "perimeter": {"communes": [commune["insee"]]}},
    ).json()
    path = f"/v1/contracts/{contract['id']}"
    add_party(client, path, caf["id"], ["signatory", "payer"], CAF_NAMES)
    add_party(client, path, commune_org["id"], ["signatory", "payee"])
    sign_parties(client, path)
    submit(client, path)
    submit(client, path, "sign")
    yearly = 0
    for facility in range(FACILITIES_PER_CEJ):
        equipment = client.expect(
            201,
            "POST",
            "/v1/equipments",
            {"type": FACILITY_TYPES[facility], "name": f"Équipement {round_no}.{index}.{facility}",
             "manager_id": commune_org["id"], "commune": commune["insee"], "capacity_places": 20 + facility},
        ).json()
        amount = 1_000_000 + 12_345 * facility + index
        yearly += amount
        commitment = client.expect(
            201,
            "POST",
            f"{path}/funding-commitments",
            {"payee_id": commune_org["id"], "equipment_id": equipment["id"], "programme": "psej",
             "basis": "lump_sum", "origin": "new", "decision_date": "2019-03-01",
             "years": [{"year": year, "amount_cents": amount} for year in CEJ_YEARS]},
        ).json()
        client.expect(
            200,
            "POST",
            f"/v1/funding-commitments/{commitment['id']}/transitions",
            {"action": "commit"},
            if_match(commitment),
        )
    return contract["id"], yearly


def territories(client, department, wanted):
    """Up to `wanted` EPCI of the département with five member communes that have a SIREN, each
    with those communes and the organisations of all six (created when absent)."""
    found = []
    for epci in items(client, f"/v1/epcis?department={department}&page_size=200"):
        members = client.expect(200, "GET", f"/v1/epcis/{epci['siren']}").json()["members"]
        # A CEJ covers communes of its CAF's département; some EPCI reach over its border.
        communes = [m for m in members if m.get("siren") and m["department"] == department][:CEJS_PER_CTG]
        if len(communes) == CEJS_PER_CTG:
            commune_orgs = [organisation(client, "commune", commune["siren"]) for commune in communes]
            found.append((epci, organisation(client, "epci", epci["siren"]), communes, commune_orgs))
        if len(found) == wanted:
            break
    return found


def prepare_round(client, department, caf, territory, round_no):
    """The five CEJs of one EPCI's communes and the CTG that replaces them, submitted; returns
    the CTG's id and the yearly money its CEJs carry."""
    epci, epci_org, communes, commune_orgs = territory
    cejs = [
        cej(client, department, caf, commune, commune_org, round_no, index)
        for index, (commune, commune_org) in enumerate(zip(communes, commune_orgs))
    ]
    ctg = client.expect(
        201,
        "POST",
        "/v1/contracts",
        {"kind": "ctg", "title": f"CTG {epci['name']} ({round_no})", "department": department,
         "start_date": "2023-01-01", "end_date": "2027-12-31",
         "fields": ["petite_enfance", "jeunesse", "parentalite", "acces_aux_droits"],
         "perimeter": {"epcis": [epci["siren"]]}, "predecessor_ids": [cej_id for cej_id, _ in cejs]},
    ).json()
    path = f"/v1/contracts/{ctg['id']}"
    add_party(client, path, caf["id"], ["signatory", "payer"], CAF_NAMES)
    add_party(client, path, epci_org["id"], ["signatory", "pilot"])
    for commune_org in commune_orgs:
        add_party(client, path, commune_org["id"], ["payee"])
    sign_parties(client, path)
    submit(client, path)
    return ctg["id"], sum(yearly for _, yearly in cejs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True, help="an admin bearer token")
    parser.add_argument("--department", required=True)
    parser.add_argument("--rounds", type=int, default=30, help="CTGs to sign, each replacing 5 CEJs")
    parser.add_argument("--reads", type=int, default=10, help="reads of each annex in each form")
    parser.add_argument("--threads", type=int, default=4, help="client threads while setting up")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    client = Client(args.base_url, args.token)
    try:
        started = time.perf_counter()
        caf = items(client, f"/v1/organisations?kind=caf&department={args.department}")[0]
        places = territories(client, args.department, args.rounds)
        if not places:
            raise Failure(f"no EPCI of {args.department} has {CEJS_PER_CTG} member communes with a SIREN")
        # Rounds past the number of such EPCI take them again: CTGs may overlap.
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            futures = [
                pool.submit(prepare_round, client, args.department, caf, places[n % len(places)], n)
                for n in range(args.rounds)
            ]
            rounds = [future.result() for future in futures]
        setup_seconds = time.perf_counter() - started

        signatures = []
        for ctg_id, yearly in rounds:
            path = f"/v1/contracts/{ctg_id}"
            contract = client.expect(200, "GET", path).json()
            reply = client.call("POST", f"{path}/transitions", {"action": "sign"}, if_match(contract))
            if reply.status != 200:
                raise Failure(f"signing {ctg_id} -> {reply.status}: {reply.text}")
            signatures.append(reply.seconds)
            created = [c for c in items(client, f"{path}/funding-commitments") if c["money_origin"] == "ex_cej"]
            expected = CEJS_PER_CTG * FACILITIES_PER_CEJ
            carried = sum(year["amount_cents"] for c in created for year in c["years"])
            if len(created) != expected or carried != yearly * len(CTG_YEARS):
                raise Failure(f"{ctg_id}: {len(created)} bonus commitments carrying {carried} cents, "
                              f"expected {expected} carrying {yearly * len(CTG_YEARS)}")

        json_reads, csv_reads = [], []
        for ctg_id, yearly in rounds:
            path = f"/v1/contracts/{ctg_id}/annex"
            for _ in range(args.reads):
                reply = client.expect(200, "GET", path)
                if reply.json()["total"]["draft_cents"] != yearly * len(CTG_YEARS):
                    raise Failure(f"{path}: the annex does not add up: {reply.json()['total']}")
                json_reads.append(reply.seconds)
                reply = client.expect(200, "GET", path, headers={"Accept": "text/csv"})
                if reply.text.count("\r\n") != 1 + CEJS_PER_CTG * FACILITIES_PER_CEJ * len(CTG_YEARS) + len(CTG_YEARS):
                    raise Failure(f"{path} as CSV has {reply.text.count(chr(13) + chr(10))} lines")
                csv_reads.append(reply.seconds)
    except Failure as failure:
        print(f"cej_transfer: {failure}", file=sys.stderr)
        return 1

    def ms(seconds):
        return f"{seconds * 1000:.1f}"

    with open(args.out, "w", encoding="utf-8") as out:
        for name, samples in (("SIGN", signatures), ("ANNEX_JSON", json_reads), ("ANNEX_CSV", csv_reads)):
            out.write(f"BENCH_{name}_COUNT={len(samples)}\n")
            out.write(f"BENCH_{name}_P50_MS={ms(percentile(samples, 0.50))}\n")
            out.write(f"BENCH_{name}_P99_MS={ms(percentile(samples, 0.99))}\n")
            out.write(f"BENCH_{name}_MAX_MS={ms(max(samples))}\n")
        out.write(f"BENCH_SETUP_SECONDS={setup_seconds:.1f}\n")
        out.write(f"BENCH_ROUNDS={shlex.quote(str(len(rounds)))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
