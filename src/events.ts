import { channel, type Channel } from "node:diagnostics_channel";

/**
 * What the stages tell whoever listens (metrics, the admin page), through `node:diagnostics_channel`: a stage
 * publishes only when a channel has subscribers (`active`), so without listeners an event costs one property
 * read and no message is built. Messages are plain data, never the live objects of a stage.
 */

/** A typed view of one diagnostics channel. */
export class EventChannel<T> {
  private readonly channel: Channel;

  constructor(readonly name: string) {
    this.channel = channel(name);
  }

  /** Whether anybody listens: check it before building a message that costs anything. */
  get active(): boolean {
    return this.channel.hasSubscribers;
  }

  publish(message: T): void {
    this.channel.publish(message);
  }

  /** Returns the function that ends the subscription. */
  subscribe(listener: (message: T) => void): () => void {
    const onMessage = (message: unknown) => listener(message as T);
    this.channel.subscribe(onMessage);
    return () => {
      this.channel.unsubscribe(onMessage);
    };
  }
}

/** A route added, replaced or removed in this process's table (through its API, or learnt from a shared store). */
export interface RouteChanged {
  path: string;
  /** The route's target; absent for a removal. */
  target?: string;
}

export interface ProxyRequest {
  kind: "web" | "ws";
}

export interface RouteLookup {
  seconds: number;
}

export interface ProxyResponse {
  /** The status the client got: the upstream's, or the proxy's own 404 / 500 / 503. */
  status: number;
}

export interface UpstreamFailure {
  kind: string;
}

export interface ApiRequest {
  status: number;
  /** What the request asked of the table: a list read, an add that succeeded, a delete (found or not), as CHP counts them. */
  action?: "read" | "add" | "delete";
}

export interface ActivityWrite {
  seconds: number;
}

export interface WebSocketEvent {
  /** Route prefix the socket matched. */
  route: string;
}

export interface KernelSessionEvent {
  /** Identifies the socket for as long as it is open. */
  id: number;
  kernelId: string;
  /** The URL's `session_id`: the browser's client session. */
  sessionId?: string;
  /** The route's user (JupyterHub's name for the server's owner). */
  user?: string;
  /** The wire format, known once the upstream has answered the upgrade. */
  format?: "legacy" | "v1";
  /** From the LTI launch cookie, when the browser came from one. */
  instId?: string;
  ltiId?: string;
}

export interface ExecutionCaptured {
  /** The kernel socket that carried it (KernelSessionEvent.id), when known. */
  socket?: number;
  kind: "ltictr" | "client" | "server";
  /** `ok`, `error`, `aborted` for server records, empty otherwise. */
  status: string;
  session: string;
  message: string;
  user: string;
  cellId: string;
  /** The cell's tags as the browser sent them (compact JSON), e.g. `["filename:ex1.ipynb","codenum:3"]`. */
  tags: string;
  instId: string;
  ltiId: string;
  capturedAt: number;
}

export interface RecordsDelivered {
  count: number;
  /** Moodle origin, e.g. `https://moodle.example`. */
  origin: string;
}

export interface RecordsRetried extends RecordsDelivered {
  reason: string;
}

export interface RecordsDeadLettered extends RecordsDelivered {
  reason: string;
}

export interface RecordsRefused {
  reason: string;
  count: number;
}

/** The listeners with a certificate of their own (the admin page shares one of theirs). */
export type TlsListener = "public" | "api";

export interface CertificateLoaded {
  listener: TlsListener;
  subject: string;
  /** Unix time in ms. */
  validTo: number;
}

export interface RouteStoreState {
  /** Writes are possible (a shared store is reachable). */
  connected: boolean;
  state: string;
}

export interface CaptureSkipped {
  /** Why a kernel message was not inspected (it was still relayed). */
  reason: "message-too-large" | "memory-budget";
  bytes: number;
}

export const events = {
  routeChanged: new EventChannel<RouteChanged>("ltictr-proxy:route:changed"),
  routeStoreState: new EventChannel<RouteStoreState>("ltictr-proxy:route:store-state"),
  proxyRequest: new EventChannel<ProxyRequest>("ltictr-proxy:proxy:request"),
  routeLookup: new EventChannel<RouteLookup>("ltictr-proxy:proxy:lookup"),
  proxyResponse: new EventChannel<ProxyResponse>("ltictr-proxy:proxy:response"),
  upstreamFailure: new EventChannel<UpstreamFailure>("ltictr-proxy:upstream:failure"),
  apiRequest: new EventChannel<ApiRequest>("ltictr-proxy:api:request"),
  activityWrite: new EventChannel<ActivityWrite>("ltictr-proxy:activity:write"),
  webSocketOpened: new EventChannel<WebSocketEvent>("ltictr-proxy:websocket:opened"),
  webSocketClosed: new EventChannel<WebSocketEvent>("ltictr-proxy:websocket:closed"),
  kernelSessionOpened: new EventChannel<KernelSessionEvent>("ltictr-proxy:kernel:opened"),
  kernelSessionClosed: new EventChannel<KernelSessionEvent>("ltictr-proxy:kernel:closed"),
  executionCaptured: new EventChannel<ExecutionCaptured>("ltictr-proxy:capture:execution"),
  captureSkipped: new EventChannel<CaptureSkipped>("ltictr-proxy:capture:skipped"),
  recordsDelivered: new EventChannel<RecordsDelivered>("ltictr-proxy:delivery:delivered"),
  recordsRetried: new EventChannel<RecordsRetried>("ltictr-proxy:delivery:retried"),
  recordsDeadLettered: new EventChannel<RecordsDeadLettered>("ltictr-proxy:delivery:dead-lettered"),
  recordsRefused: new EventChannel<RecordsRefused>("ltictr-proxy:delivery:refused"),
  certificateLoaded: new EventChannel<CertificateLoaded>("ltictr-proxy:tls:certificate"),
} as const;
