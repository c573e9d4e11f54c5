#!/usr/bin/env python3
"""Seeds a national-scale data set into a running CTG API, through the API only.

Built from the territory reference the service already holds:
  - one CAF organisation per département that has a CAF;
  - every EPCI as an organisation;
  - N CTG contracts (default 3,000) spread over the CAF départements in proportion to their
    EPCI count, each covering one EPCI of its département, with the CAF (signatory, payer) and
    the EPCI (signatory, pilot) as parties and 10 actions piloted by the EPCI.

Standard library only, so that the benchmark needs nothing but python3. Any answer other than
2xx stops the seeding with the problem body printed: a benchmark on a half-seeded base would
measure the wrong thing.

Writes a shell-sourceable file (--out) naming the département with the most contracts and one of
its contracts, for the load runs that follow.
"""

import argparse
import concurrent.futures
import json
import shlex
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

CTG_FIELDS = ["petite_enfance", "jeunesse", "parentalite", "acces_aux_droits"]

# Ten plausible action titles, one per action of a contract's plan.
ACTION_TITLES = [
    "Diagnostic partagé des besoins des familles",
    "Création de places en établissement d'accueil du jeune enfant",
    "Coordination du relais petite enfance",
    "Accueil de loisirs pendant les vacances scolaires",
    "Espace jeunes et accompagnement des projets de jeunes",
    "Lieu d'accueil enfants-parents itinérant",
    "Réseau d'écoute, d'appui et d'accompagnement des parents",
    "Permanences d'accès aux droits en mairie",
    "Espace France services et inclusion numérique",
    "Animation de la vie sociale en milieu rural",
]


class ApiFailure(Exception):
    """A non-2xx answer (or no answer): what was asked and what came back."""


class Client:
    """A tiny JSON client over urllib. One instance is shared by all worker threads: urllib opens
    a connection per request, so there is no per-thread state to keep."""

    def __init__(self, base_url, token, timeout=30):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.timeout = timeout
        self.requests = 0
        self._count_lock = threading.Lock()

    def call(self, method, path, body=None):
        data = None
        headers = dict(self.headers)
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        with self._count_lock:
            self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            raise ApiFailure(
                f"{method} {path} -> {error.code} {error.headers.get('Content-Type', '')}\n"
                f"  sent: {json.dumps(body, ensure_ascii=False) if body is not None else '-'}\n"
                f"  got:  {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise ApiFailure(f"{method} {path} -> no answer: {error}") from None

    def get(self, path, **query):
        return self.call("GET", f"{path}?{urllib.parse.urlencode(query)}" if query else path)

    def post(self, path, body):
        return self.call("POST", path, body)

    def list_all(self, path, **query):
        """Every item of a paginated list, following next_page_token."""
        items, token = [], None
        while True:
            params = dict(query, page_size=200)
            if token:
                params["page_token"] = token
            page = self.get(path, **params)
            items.extend(page["items"])
            token = page.get("next_page_token")
            if not token:
                return items


def luhn_check_digit(digits):
    """The digit that makes digits + it pass the Luhn check (as SIRENs do)."""
    for check in "0123456789":
        total = 0
        for position, char in enumerate(reversed(digits + check)):
            value = int(char)
            if position % 2 == 1:
                value = value * 2 - 9 if value > 4 else value * 2
            total += value
        if total % 10 == 0:
            return check
    raise AssertionError("unreachable")


def caf_siren(index, taken):
    """A valid SIREN starting with 1 (a range no commune or EPCI uses), unique among `taken`."""
    base = f"1{index:07d}"
    siren = base + luhn_check_digit(base)
    if siren in taken:
        raise SystemExit(f"generated CAF SIREN {siren} collides with a reference SIREN")
    return siren


def allocate(total, weights):
    """Splits `total` over keys in proportion to `weights` (largest remainder), summing exactly."""
    weight_sum = sum(weights.values())
    exact = {key: total * weight / weight_sum for key, weight in weights.items()}
    shares = {key: int(value) for key, value in exact.items()}
    left = total - sum(shares.values())
    for key in sorted(exact, key=lambda k: (shares[k] - exact[k], k))[:left]:
        shares[key] += 1
    return shares


def run_parallel(pool, label, function, items):
    """Runs function(item) for every item on the pool and returns the results in the order of
    `items`; stops everything at the first failure. Prints progress every 10% once a phase runs for more than 5 s."""
    started = time.monotonic()
    futures = [pool.submit(function, item) for item in items]
    step = max(1, len(futures) // 10)
    try:
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            future.result()  # raises the first failure as soon as it happens
            elapsed = time.monotonic() - started
            if elapsed >= 5 and done % step == 0 and done < len(futures):
                print(f"    {label}: {done}/{len(futures)} in {elapsed:.0f} s", flush=True)
    except ApiFailure:
        for future in futures:
            future.cancel()
        raise
    results = [future.result() for future in futures]
    elapsed = time.monotonic() - started
    print(f"  {label}: {len(results)} in {elapsed:.1f} s ({len(results) / max(elapsed, 1e-9):.0f}/s)", flush=True)
    return results


def seed(client, contracts_total, actions_per_contract, threads):
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
    try:
        # 1. The territory reference, as any client would read it.
        departments = client.list_all("/v1/departments")
        by_department = dict(
            zip(
                [d["code"] for d in departments],
                run_parallel(
                    pool,
                    "EPCI lists read (one per département)",
                    lambda d: client.list_all("/v1/epcis", department=d["code"]),
                    departments,
                ),
            )
        )
        epcis = {e["siren"]: e for items in by_department.values() for e in items}
        caf_departments = [d for d in departments if d["has_caf"]]
        print(
            f"  reference: {len(departments)} départements ({len(caf_departments)} with a CAF), "
            f"{len(epcis)} EPCI",
            flush=True,
        )

        # 2. One CAF per département that has one.
        def create_caf(indexed):
            index, department = indexed
            org = client.post(
                "/v1/organisations",
                {
                    "kind": "caf",
                    "name": f"CAF {department['name']}",
                    "siren": caf_siren(index, epcis.keys()),
                    "department": department["code"],
                },
            )
            return department["code"], org["id"]

        cafs = dict(run_parallel(pool, "CAF organisations", create_caf, list(enumerate(caf_departments, start=1))))

        # 3. Every EPCI as an organisation; one spanning several départements is placed in its
        #    first one (the API refuses to guess).
        def create_epci(epci):
            body = {"kind": "epci", "siren": epci["siren"]}
            if len(epci["departments"]) > 1:
                body["department"] = epci["departments"][0]
            return epci["siren"], client.post("/v1/organisations", body)["id"]

        epci_orgs = dict(run_parallel(pool, "EPCI organisations", create_epci, list(epcis.values())))

        # 4. Contracts, in proportion to each CAF département's EPCI count; the n-th contract of a
        #    département covers its n-th EPCI (round robin, since there are more contracts than EPCI).
        shares = allocate(
            contracts_total,
            {d["code"]: len(by_department[d["code"]]) for d in caf_departments if by_department[d["code"]]},
        )
        plan = []
        for code, count in sorted(shares.items()):
            local = sorted(by_department[code], key=lambda e: e["siren"])
            plan.extend((code, local[n % len(local)], n + 1) for n in range(count))

        def create_contract(item):
            code, epci, number = item
            contract = client.post(
                "/v1/contracts",
                {
                    "kind": "ctg",
                    "title": f"CTG {epci['name']} n°{number}",
                    "department": code,
                    "start_date": "2024-01-01",
                    "end_date": "2028-12-31",
                    "fields": CTG_FIELDS,
                    "perimeter": {"epcis": [epci["siren"]]},
                },
            )
            contract_path = f"/v1/contracts/{contract['id']}"
            epci_org = epci_orgs[epci["siren"]]
            # A CAF signs with two names: its président and its directeur.
            client.post(
                f"{contract_path}/parties",
                {"organisation_id": cafs[code], "roles": ["signatory", "payer"],
                 "signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"},
            )
            client.post(f"{contract_path}/parties", {"organisation_id": epci_org, "roles": ["signatory", "pilot"]})
            for n in range(actions_per_contract):
                client.post(
                    f"{contract_path}/actions",
                    {
                        "code": f"A1.{n + 1}",
                        "title": ACTION_TITLES[n % len(ACTION_TITLES)],
                        "pilot_organisation_id": epci_org,
                    },
                )
            return code, contract["id"]

        created = run_parallel(
            pool,
            f"contracts with 2 parties and {actions_per_contract} actions each",
            create_contract,
            plan,
        )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    # The département with the most contracts (ties: lowest code) is the one the load runs read.
    biggest = max(sorted(shares), key=lambda code: shares[code])
    contract_id = sorted(cid for code, cid in created if code == biggest)[0]
    return {
        "departments": len(departments),
        "cafs": len(cafs),
        "epcis": len(epci_orgs),
        "contracts": len(created),
        "biggest_department": biggest,
        "biggest_department_contracts": shares[biggest],
        "contract_id": contract_id,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="an admin bearer token")
    parser.add_argument("--contracts", type=int, default=3000)
    parser.add_argument("--actions", type=int, default=10, help="actions per contract")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--out", help="write BENCH_DEPARTMENT and BENCH_CONTRACT_ID here, shell-sourceable")
    args = parser.parse_args()

    client = Client(args.base_url, args.token)
    started = time.monotonic()
    try:
        result = seed(client, args.contracts, args.actions, args.threads)
    except ApiFailure as failure:
        print(f"seeding stopped after {client.requests} requests:\n{failure}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    print(
        f"seeded {result['cafs']} CAF, {result['epcis']} EPCI organisations and {result['contracts']} contracts "
        f"({client.requests} requests) in {elapsed:.1f} s ({client.requests / elapsed:.0f} requests/s)"
    )
    print(
        f"biggest département: {result['biggest_department']} "
        f"({result['biggest_department_contracts']} contracts); sample contract {result['contract_id']}"
    )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(f"BENCH_DEPARTMENT={shlex.quote(result['biggest_department'])}\n")
            out.write(f"BENCH_CONTRACT_ID={shlex.quote(result['contract_id'])}\n")
            out.write(f"BENCH_SEED_SECONDS={elapsed:.1f}\n")
            out.write(f"BENCH_SEED_REQUESTS={client.requests}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
