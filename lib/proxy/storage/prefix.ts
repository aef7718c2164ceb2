import { checkStorageKey } from "./storage";

/**
 * Refuses a `list` prefix that no safe key could start with. The empty prefix (everything) and
 * prefixes ending mid-segment (`golang.org/x/te`) are fine; `../`, `/abs`, `a//`, `a/./` and
 * prefixes with characters a key may not hold are not.
 */
export function checkStoragePrefix(prefix: string): void {
  if (prefix === "") return;
  // Extending a prefix by one safe character gives a valid key exactly when some valid key
  // starts with the prefix, so the key rules stay the single source of truth.
  try {
    checkStorageKey(prefix + "x");
  } catch {
    throw new Error(`storage list prefix ${JSON.stringify(prefix)} is not the start of a safe relative path`);
  }
}
