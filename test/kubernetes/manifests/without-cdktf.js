// Preloaded (node -r) by the command-line test: `cdktf` cannot be found, as when the construct's
// peer dependencies are not installed. Node's own error has the same code and wording.
const Module = require("node:module");

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "cdktf") {
    const err = new Error(`Cannot find module '${request}'`);
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
