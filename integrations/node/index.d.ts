// Types of index.js: the Testcontainers module of the 2BA OAuth mock.
import { AbstractStartedContainer, GenericContainer, StartedTestContainer } from "testcontainers";
import { FaultRequest, JournalEntry, TokenSelector, TwoBaMockControl } from "./control.js";

export * from "./control.js";

export declare const DEFAULT_IMAGE: string;
export declare const MOCK_PORT: 8080;
export declare const FIXTURE_DIR: string;

export declare class TwoBaMockContainer extends GenericContainer {
  constructor(image?: string);
  withHttps(): this;
  withFixture(fixture: string): this;
  withAdminToken(token: string): this;
  withMockArgs(...args: string[]): this;
  start(): Promise<StartedTwoBaMockContainer>;
}

export declare class StartedTwoBaMockContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, options: { https: boolean; ca?: string; adminToken?: string });
  getPort(): number;
  getAuthorizeBase(scenario?: string): string;
  getTokenUrl(scenario?: string): string;
  getAuthorizeUrl(scenario?: string): string;
  getApiBase(scenario?: string): string;
  getCa(): string | undefined;
  control(scenario?: string): TwoBaMockControl;
  advanceClock(seconds: number): ReturnType<TwoBaMockControl["advanceClock"]>;
  revoke(selector: TokenSelector): Promise<number>;
  expire(selector: TokenSelector): Promise<number>;
  addFault(fault: FaultRequest): Promise<number[]>;
  clearFaults(): Promise<{ status: string }>;
  requests(filter?: { since?: number; path?: string }): Promise<JournalEntry[]>;
  reset(): Promise<{ status: string }>;
}
