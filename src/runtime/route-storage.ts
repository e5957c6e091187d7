import type { RouteStorage } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../log/logger.js";
import { MemoryRouteStore } from "../routing/memory-route-store.js";
import type { RouteStore } from "../routing/route-store.js";
import { loadStorageBackend } from "../routing/storage-backend.js";
import type { RedisRouteStore } from "../routing/redis/redis-route-store.js";
import { events } from "../events.js";
import { restoreFastStringPrototype } from "./fast-string-prototype.js";

export interface RouteStoreStatus {
  backend: RouteStorage["kind"];
  /** Routes in the table; unknown for a module store that cannot count without a full read. */
  routes: number | undefined;
  /** For shared stores: whether the store is reachable now. */
  connected?: boolean;
  lastError?: string;
}

/** The route store the configuration names, with what the runtime needs around it. */
export interface OpenedRouteStore {
  store: RouteStore;
  status(): RouteStoreStatus;
  close(): void | Promise<void>;
}

export async function openRouteStore(storage: RouteStorage, log: Logger): Promise<OpenedRouteStore> {
  switch (storage.kind) {
    case "memory": {
      const store = new MemoryRouteStore();
      return {
        store,
        status: () => ({ backend: "memory", routes: store.size }),
        close: () => undefined,
      };
    }
    case "module": {
      let store: RouteStore;
      try {
        store = await loadStorageBackend(storage.module, log);
        restoreFastStringPrototype();
      } catch (error) {
        // A module that cannot be found or is not a store is the operator's configuration, not a crash.
        throw new ConfigError(
          `--storage-backend ${storage.module}: ${(error as Error).message.split("\n")[0]}`,
        );
      }
      return {
        store,
        status: () => ({ backend: "module", routes: undefined }),
        close: () => (store as RouteStore & { close?: () => unknown }).close?.() as void,
      };
    }
    case "redis": {
      // ioredis is loaded only when Redis is used: a third of a second of start-up otherwise spent for nothing.
      const { RedisRouteStore } = await import("../routing/redis/redis-route-store.js");
      restoreFastStringPrototype();
      let store: RedisRouteStore;
      try {
        store = await RedisRouteStore.open(storage.url, {
          log,
          keyPrefix: storage.keyPrefix,
          onStateChange: (status) => {
            if (events.routeStoreState.active)
              events.routeStoreState.publish({ connected: status.connected, state: status.state });
          },
        });
      } catch (error) {
        // Unparseable or unreachable at start: the operator's configuration (the message has no password).
        throw new ConfigError(`--storage-backend: ${(error as Error).message.split("\n")[0]}`);
      }
      return {
        store,
        status: () => {
          const status = store.status();
          return {
            backend: "redis",
            routes: status.routes,
            connected: status.connected,
            lastError: status.lastError,
          };
        },
        close: () => store.close(),
      };
    }
  }
}
