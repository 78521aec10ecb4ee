// Types of control.js: the mock's control API (/__mock), as openapi.json describes it.

export declare const OPERATIONS: Readonly<Record<string, readonly [method: string, path: string]>>;

export declare class ControlApiError extends Error {
  readonly status: number;
  readonly body: string;
}

export interface Clock { now: number; now_ms: number; frozen: boolean; }

export interface FaultRequest {
  /** case-insensitive; either path of an endpoint (token, authorize) matches both */
  path: string;
  grant_type?: string;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delay_ms?: number;
  drop?: boolean;
  after_commit?: boolean;
  /** 0 = every request */
  times?: number;
}

/** Exactly one key. */
export type TokenSelector =
  | { token: string } | { user: string } | { client: string } | { grant: string | number };

export interface JournalEntry {
  seq: number;
  time: number;
  time_ms: number;
  real_time_ms: number;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | null;
  form: Record<string, string[]> | null;
  status: number;
  response_headers: Record<string, string>;
  response_body: string | null;
  fault: number | null;
  outcome: Record<string, unknown>;
}

export interface CodeRequest {
  client_id: string;
  username: string;
  redirect_uri: string;
  scope?: string;
  code_challenge?: string;
  code_challenge_method?: "S256" | "plain";
}

export interface ControlOptions { ca?: string; adminToken?: string; }

export declare class TwoBaMockControl {
  constructor(base: string, options?: ControlOptions);
  readonly base: string;
  health(): Promise<{ status: string }>;
  reset(): Promise<{ status: string }>;
  clock(): Promise<Clock>;
  advanceClock(seconds: number): Promise<Clock>;
  setClock(unixSeconds: number): Promise<Clock>;
  freezeClock(frozen?: boolean): Promise<Clock>;
  requests(filter?: { since?: number; path?: string }): Promise<JournalEntry[]>;
  clearRequests(): Promise<{ status: string }>;
  faults(): Promise<Array<FaultRequest & { id: number }>>;
  addFault(fault: FaultRequest): Promise<number[]>;
  clearFaults(): Promise<{ status: string }>;
  tokens(query?: { user?: string; client?: string }): Promise<Array<{ grant: string; client_id: string; username: string; revoked: boolean } & Record<string, unknown>>>;
  revoke(selector: TokenSelector): Promise<number>;
  expire(selector: TokenSelector): Promise<number>;
  issueCode(request: CodeRequest): Promise<{ code: string } & Record<string, unknown>>;
}
