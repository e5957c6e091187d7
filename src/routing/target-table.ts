import { parseUpstreamTarget, type UpstreamTarget } from "../http1/upstream-target.js";

/** One distinct `target` URL of the table, shared by every route that names it. */
export class TableTarget {
  private upstream: UpstreamTarget | undefined = undefined;
  /** Routes naming it; the table forgets it at zero. */
  users = 0;

  constructor(
    readonly url: string,
    readonly number: number,
  ) {}

  /** Parsed once; throws for an unusable target, as `parseUpstreamTarget` does (and again at the next request). */
  parsed(): UpstreamTarget {
    this.upstream ??= parseUpstreamTarget(this.url);
    return this.upstream;
  }
}

/**
 * The routing table's targets, numbered: a route keeps its target's number among the few numbers a request reads
 * (see RouteCells), and a request reaches the parsed target through this table, never through the route's data. Many
 * routes may share one target (JupyterHub's hub route and a test's default); numbers of forgotten targets are reused.
 */
export class TargetTable {
  private readonly byUrl = new Map<string, TableTarget>();
  private readonly byNumber: (TableTarget | undefined)[] = [];
  private readonly freeNumbers: number[] = [];

  /** The target for `url`, counted as used once more. */
  use(url: string): TableTarget {
    let target = this.byUrl.get(url);
    if (target === undefined) {
      target = new TableTarget(url, this.freeNumbers.pop() ?? this.byNumber.length);
      this.byUrl.set(url, target);
      this.byNumber[target.number] = target;
    }
    target.users++;
    return target;
  }

  /** One route fewer names the target with this number. */
  release(number: number): void {
    const target = this.byNumber[number];
    if (target === undefined || --target.users > 0) return;
    this.byUrl.delete(target.url);
    this.byNumber[number] = undefined;
    this.freeNumbers.push(number);
  }

  /** The target with this number (one a live route holds). */
  at(number: number): TableTarget {
    return this.byNumber[number] as TableTarget;
  }

  get size(): number {
    return this.byUrl.size;
  }
}
