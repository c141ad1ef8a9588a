import { Readable } from "node:stream";

export interface ExecutedStatement {
  readonly sqlText: string;
  readonly binds?: unknown[];
  readonly parameters?: Record<string, unknown>;
  readonly asyncExec?: boolean;
}

// The statuses snowflake-sdk's QueryStatus lists as running and as errors.
const RUNNING = ["RUNNING", "RESUMING_WAREHOUSE", "QUEUED", "QUEUED_REPARING_WAREHOUSE", "NO_DATA"];
const ERRORS = ["ABORTING", "FAILED_WITH_ERROR", "ABORTED", "FAILED_WITH_INCIDENT", "DISCONNECTED", "BLOCKED"];

/**
 * A `snowflake-sdk` Connection with the documented surface the adapter uses: `connectAsync`,
 * `execute({ sqlText, binds, parameters, asyncExec, complete })`, `getQueryStatus`,
 * `isStillRunning`, `isAnError`, `getQueryStatusThrowIfError`, `getResultsFromQueryId`, `destroy`.
 * It records what it is asked and answers from a script.
 */
export class FakeSnowflakeConnection {
  readonly executed: ExecutedStatement[] = [];
  readonly statusCalls: string[] = [];
  connected = 0;
  /** Statuses `getQueryStatus` returns, in order; the last one repeats. */
  statuses: string[] = ["SUCCESS"];
  failure = "SQL compilation error: Object 'TRAINING_SESSIONS' does not exist";
  /** Rows a statement returns, by its text. */
  rowsFor: (sqlText: string) => Record<string, unknown>[] = () => [];
  /** Fails a synchronous statement whose text matches. */
  failOn?: RegExp;

  async connectAsync(): Promise<this> {
    this.connected++;
    return this;
  }

  execute(options: ExecutedStatement & { complete?: (error: unknown, statement: unknown, rows?: unknown[]) => void }) {
    const { complete, ...recorded } = options;
    this.executed.push(recorded);
    const queryId = `01b2-query-${this.executed.length}`;
    const statement = { getQueryId: () => queryId, getSqlText: () => options.sqlText };
    queueMicrotask(() => {
      if (this.failOn?.test(options.sqlText)) {
        complete?.(Object.assign(new Error("SQL execution error"), { sqlState: "42000" }), statement, undefined);
      } else complete?.(undefined, statement, options.asyncExec ? [] : this.rowsFor(options.sqlText));
    });
    return statement;
  }

  async getQueryStatus(queryId: string): Promise<string> {
    this.statusCalls.push(queryId);
    return (this.statuses.length > 1 ? this.statuses.shift() : this.statuses[0]) ?? "SUCCESS";
  }

  isStillRunning(status: string): boolean {
    return RUNNING.includes(status);
  }

  isAnError(status: string): boolean {
    return ERRORS.includes(status);
  }

  async getQueryStatusThrowIfError(_queryId: string): Promise<string> {
    throw new Error(this.failure);
  }

  /** A statement this connection started answers with its text's rows; any other id with `results of <id>`'s. */
  async getResultsFromQueryId({ queryId }: { queryId: string }) {
    const started = this.executed.findIndex((_, index) => `01b2-query-${index + 1}` === queryId);
    const rows = this.rowsFor(started >= 0 ? (this.executed[started]?.sqlText ?? "") : `results of ${queryId}`);
    return { streamRows: () => Readable.from(rows) };
  }

  destroy(callback: (error: unknown, connection: unknown) => void): void {
    callback(undefined, this);
  }
}
