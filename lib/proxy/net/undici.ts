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
 * request. It has what this code base uses of a dispatcher: dispatch (undici's `request` calls
 * nothing else), compose (interceptors over the same real dispatcher, composed once it is made),
 * close and destroy (nothing to do when no request was ever sent; a request after them fails as
 * it would on a closed undici dispatcher).
 */
export function lazyDispatcher(make: () => Dispatcher): Dispatcher {
  let made: Dispatcher | undefined;
  let ended: "closed" | "destroyed" | undefined;
  const real = (): Dispatcher => {
    if (made) return made;
    made = make();
    // Ended before its first request: the real one ends too, and refuses the request.
    if (ended === "closed") void made.close();
    else if (ended === "destroyed") void made.destroy();
    return made;
  };
  const lazy: Pick<Dispatcher, "dispatch"> & {
    compose(...interceptors: Dispatcher.DispatcherComposeInterceptor[]): Dispatcher;
    close(): Promise<void>;
    destroy(err?: Error): Promise<void>;
  } = {
    dispatch: (options, handler) => real().dispatch(options, handler),
    compose: (...interceptors) => lazyDispatcher(() => real().compose(...interceptors)),
    close: async () => {
      ended ??= "closed";
      await made?.close();
    },
    destroy: async (err?: Error) => {
      ended = "destroyed";
      await (err ? made?.destroy(err) : made?.destroy());
    },
  };
  return lazy as unknown as Dispatcher;
}
