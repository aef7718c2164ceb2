import type { ModuleSource } from "./source";

/** A source built on its first use (so that what it loads costs nothing until it is needed). */
export function lazySource(make: () => ModuleSource): ModuleSource {
  let source: ModuleSource | undefined;
  const get = (): ModuleSource => (source ??= make());
  return {
    list: (path) => get().list(path),
    info: (path, query) => get().info(path, query),
    latest: (path) => get().latest(path),
    mod: (path, version) => get().mod(path, version),
    zip: (path, version) => get().zip(path, version),
  };
}
