// A typed client of the CTG API, as a front-end team would write one: the types come from
// `openapi/openapi.json` through openapi-typescript (`npm run generate` writes src/schema.d.ts),
// the requests go through openapi-fetch, and `tsc --strict` checks every path, parameter, body
// and answer against the document. CI compiles it, so a change to the document that would break
// such a client is seen before it ships.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type Contract = Schemas["ContractView"];
export type Payment = Schemas["PaymentView"];
export type Problem = Schemas["Problem"];
export type Event = Schemas["EventView"];

/** A problem+json answer, thrown with its status, code and the fields it points at. */
export class ApiProblem extends Error {
    constructor(readonly problem: Problem) {
        super(`${problem.status} ${problem.code}: ${problem.detail}`);
    }
}

function fail(problem: Problem | undefined, status: number): never {
    if (problem === undefined) {
        throw new Error(`the service answered ${status} without a problem body`);
    }
    throw new ApiProblem(problem);
}

/** A client that reads JSON answers (`application/json` and `application/problem+json`), not CSV. */
export function connect(baseUrl: string, token: string) {
    return createClient<paths, `${string}/${string}json`>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

export type Client = ReturnType<typeof connect>;

/** Every contract of a département, page after page, in reference order. */
export async function* contractsOf(client: Client, department: string): AsyncGenerator<Contract> {
    let pageToken: string | undefined;
    do {
        const query =
            pageToken === undefined
                ? { department, page_size: 200 }
                : { department, page_size: 200, page_token: pageToken };
        const { data, error, response } = await client.GET("/v1/contracts", { params: { query } });
        if (data === undefined) {
            fail(error, response.status);
        }
        yield* data.items;
        pageToken = data.next_page_token ?? undefined;
    } while (pageToken !== undefined);
}

/**
 * Records a payment of a committed commitment. The idempotency key makes a retry after a timeout
 * safe: the same key and body answer the payment already recorded.
 */
export async function recordPayment(
    client: Client,
    commitmentId: string,
    payment: Schemas["CreatePayment"],
    idempotencyKey: string,
): Promise<Payment> {
    const { data, error, response } = await client.POST("/v1/funding-commitments/{id}/payments", {
        params: { path: { id: commitmentId }, header: { "Idempotency-Key": idempotencyKey } },
        body: payment,
    });
    if (data === undefined) {
        fail(error, response.status);
    }
    return data;
}

/** What one read of the feed gives: the events and where to go on from, or an order to start over. */
export type FeedStep = { kind: "events"; events: Event[]; next: string } | { kind: "resynchronise" };

/**
 * The events after `cursor` (from the oldest kept without one). A cursor older than the feed's
 * retention window is answered 410: the copy must be rebuilt from the lists.
 */
export async function readFeed(client: Client, cursor: string | undefined): Promise<FeedStep> {
    const query = cursor === undefined ? { limit: 500 } : { limit: 500, after: cursor };
    const { data, error, response } = await client.GET("/v1/events", { params: { query } });
    if (response.status === 410) {
        return { kind: "resynchronise" };
    }
    if (data === undefined) {
        fail(error, response.status);
    }
    return { kind: "events", events: data.items, next: data.next_cursor };
}
