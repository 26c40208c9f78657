import FindMyWay from 'find-my-way';

type Method = FindMyWay.HTTPMethod;

export interface RouteIndex {
  add(method: string | readonly string[], url: string): void;
  /**
   * The methods a path answers to, sorted, or an empty list when no route has this
   * path. Catch-all routes (the CORS preflight `OPTIONS *`) never make a path exist
   * on their own, but are listed once it does.
   */
  allowedMethods(url: string): string[];
}

/**
 * A second router holding only the method and path of every registered route, so
 * the not-found handler can tell "no such path" (404) from "no such method on this
 * path" (405 with `Allow`, RFC 9110 §15.5.6). Fastify itself answers 404 for both.
 */
export function createRouteIndex(): RouteIndex {
  const router = FindMyWay();
  const methods = new Set<Method>();
  return {
    add(method, url) {
      const list = (typeof method === 'string' ? [method] : method) as readonly Method[];
      for (const one of list) {
        try {
          router.on(one, url, noop, { catchAll: url === '*' || url === '/*' });
          methods.add(one);
        } catch {
          // Same method and path under another constraint (host, version): already indexed.
        }
      }
    },
    allowedMethods(url) {
      const allowed: string[] = [];
      let pathExists = false;
      for (const method of methods) {
        const found = safeFind(router, method, url);
        if (!found) continue;
        allowed.push(method);
        if (!(found.store as { catchAll: boolean }).catchAll) pathExists = true;
      }
      return pathExists ? allowed.sort() : [];
    },
  };
}

function safeFind(
  router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>,
  method: Method,
  url: string,
) {
  try {
    return router.find(method, url);
  } catch {
    return null;
  }
}

function noop(): void {}
