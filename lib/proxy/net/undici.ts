import type * as Undici from "undici";
import type { Dispatcher } from "undici";

let loaded: typeof Undici | undefined;

/**
 * undici, the HTTP client of upstream proxies, checksum databases, git discovery and peers,
 * loaded on its first use: a mirror that answers from its cache, or runs air-gapped, never
 * parses it. It is about half of the server's code, and 14 MB of resident memory once loaded;
 * the image's bundle carries it compressed until then (scripts/build-bundle.cjs).
 */
export function undici(): typeof Undici {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
  return (loaded ??= require("undici") as typeof Undici);
}

/**
 * A dispatcher that makes the real one with `make` (which loads undici) when it first sends a
 * request. It forwards what the requests of this code base use of a dispatcher (dispatch, close,
 * destroy); closing or destroying one that never sent anything has nothing to do.
 */
export function lazyDispatcher(make: () => Dispatcher): Dispatcher {
  let made: Dispatcher | undefined;
  const lazy: Pick<Dispatcher, "dispatch"> & { close(): Promise<void>; destroy(err?: Error): Promise<void> } =
    {
      dispatch: (options, handler) => (made ??= make()).dispatch(options, handler),
      close: async () => {
        await made?.close();
      },
      destroy: async (err?: Error) => {
        await (err ? made?.destroy(err) : made?.destroy());
      },
    };
  return lazy as Dispatcher;
}
