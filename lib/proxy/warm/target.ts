import type { ModuleFile } from "./inputs";

/** Where `gomirror warm` puts module files: a running mirror, or a mirror's storage. */
export interface WarmTarget {
  /** For messages: the mirror's URL (never credentials) or the storage location. */
  readonly name: string;
  /** Whether a file is stored already; undefined when the target cannot tell (a mirror over HTTP). */
  has(path: string, version: string, file: ModuleFile): Promise<boolean | undefined>;
  /** The canonical version a version or query (`latest`, `v1.2`) names, its `.info` fetched. */
  info(path: string, query: string): Promise<string>;
  mod(path: string, version: string): Promise<Buffer>;
  /** Fetches the zip to its end; with `hash`, returns its `h1:` hash. */
  zip(path: string, version: string, hash: boolean): Promise<string | undefined>;
  close(): Promise<void>;
}
