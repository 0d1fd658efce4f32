/**
 * Prometheus text metrics of the upload server: requests by route and code, a latency
 * histogram by route, records ingested by outcome, batches rejected by reason.
 */

const BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** In-process metrics registry (one per server). */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, { buckets: number[]; sum: number; count: number }>();
  readonly #records = new Map<string, number>();
  readonly #batchesRejected = new Map<string, number>();
  #batchesStored = 0;
  #batchesReplayed = 0;

  /** One answered request. */
  request(route: string, code: number, seconds: number): void {
    const k = `route="${esc(route)}",code="${code}"`;
    this.#requests.set(k, (this.#requests.get(k) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (!h) this.#latency.set(route, h = { buckets: BUCKETS_S.map(() => 0), sum: 0, count: 0 });
    for (let i = 0; i < BUCKETS_S.length; i++) if (seconds <= BUCKETS_S[i]) h.buckets[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** A batch stored for the first time, with its record outcomes. */
  batchStored(accepted: number, rejected: number): void {
    this.#batchesStored++;
    this.#records.set("accepted", (this.#records.get("accepted") ?? 0) + accepted);
    this.#records.set("rejected", (this.#records.get("rejected") ?? 0) + rejected);
  }

  batchReplayed(): void {
    this.#batchesReplayed++;
  }

  /** A batch upload refused as a whole (reason = the error code). */
  batchRejected(reason: string): void {
    this.#batchesRejected.set(reason, (this.#batchesRejected.get(reason) ?? 0) + 1);
  }

  /** The exposition text (text/plain; version=0.0.4). */
  render(): string {
    const out: string[] = [];
    out.push("# HELP icfare_http_requests_total HTTP requests answered, by route and status.");
    out.push("# TYPE icfare_http_requests_total counter");
    for (const [k, v] of [...this.#requests].sort()) {
      out.push(`icfare_http_requests_total{${k}} ${v}`);
    }
    out.push("# HELP icfare_http_request_duration_seconds Time from request to answer.");
    out.push("# TYPE icfare_http_request_duration_seconds histogram");
    for (const [route, h] of [...this.#latency].sort()) {
      const r = `route="${esc(route)}"`;
      BUCKETS_S.forEach((b, i) =>
        out.push(`icfare_http_request_duration_seconds_bucket{${r},le="${b}"} ${h.buckets[i]}`)
      );
      out.push(`icfare_http_request_duration_seconds_bucket{${r},le="+Inf"} ${h.count}`);
      out.push(`icfare_http_request_duration_seconds_sum{${r}} ${h.sum}`);
      out.push(`icfare_http_request_duration_seconds_count{${r}} ${h.count}`);
    }
    out.push(
      "# HELP icfare_records_ingested_total Records stored, by outcome of the ingest checks.",
    );
    out.push("# TYPE icfare_records_ingested_total counter");
    for (const o of ["accepted", "rejected"]) {
      out.push(`icfare_records_ingested_total{outcome="${o}"} ${this.#records.get(o) ?? 0}`);
    }
    out.push("# HELP icfare_batches_stored_total Batches durably stored (first upload).");
    out.push("# TYPE icfare_batches_stored_total counter");
    out.push(`icfare_batches_stored_total ${this.#batchesStored}`);
    out.push("# HELP icfare_batches_replayed_total Uploads answered with a stored receipt.");
    out.push("# TYPE icfare_batches_replayed_total counter");
    out.push(`icfare_batches_replayed_total ${this.#batchesReplayed}`);
    out.push("# HELP icfare_batches_rejected_total Batch uploads refused, by reason.");
    out.push("# TYPE icfare_batches_rejected_total counter");
    for (const [k, v] of [...this.#batchesRejected].sort()) {
      out.push(`icfare_batches_rejected_total{reason="${esc(k)}"} ${v}`);
    }
    return out.join("\n") + "\n";
  }
}
