// Which supervisor screens this server can back. The PWA and the server are deployed apart (a tablet
// may keep an older or newer app in its cache), so a section is offered only when the server's own
// OpenAPI document lists every operation it calls: a screen is never shown that would answer 404.
// The document is public (/schema/openapi.json), fetched once per visit to the supervisor area.

/** "METHOD /path" exactly as the OpenAPI document spells it, e.g. "GET /api/v1/holds". */
export type Operation = `${"GET" | "POST" | "PUT" | "PATCH" | "DELETE"} /${string}`;

let known: Promise<Set<string>> | null = null;

export function operationsOf(doc: unknown): Set<string> {
  const out = new Set<string>();
  const paths = (doc as { paths?: Record<string, Record<string, unknown>> } | null)?.paths ?? {};
  for (const [path, ops] of Object.entries(paths)) for (const method of Object.keys(ops)) out.add(`${method.toUpperCase()} ${path}`);
  return out;
}

/** The operations the server offers; a failed fetch is not remembered, so the next visit asks again. */
export function serverOperations(): Promise<Set<string>> {
  known ??= fetch("/schema/openapi.json", { headers: { Accept: "application/json" } })
    .then((r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.json();
    })
    .then(operationsOf)
    .catch((err: unknown) => {
      known = null;
      throw err;
    });
  return known;
}

export function offers(ops: Set<string>, needs: readonly Operation[]): boolean {
  return needs.every((n) => ops.has(n));
}
