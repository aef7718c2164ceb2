/** Size limits, in bytes. The zip and go.mod limits are the go command's own. */
export const MAX_ZIP_BYTES = 500 * 1024 * 1024;
export const MAX_GO_MOD_BYTES = 16 * 1024 * 1024;
export const MAX_LICENSE_BYTES = 16 * 1024 * 1024;
/** `.info` and `@latest` answers are small JSON documents. */
export const MAX_INFO_BYTES = 1024 * 1024;
/** A `list` answer: one version per line. */
export const MAX_LIST_BYTES = 16 * 1024 * 1024;
