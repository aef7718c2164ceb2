// Preloaded (node -r) by the package test: the files of the package in GOMIRROR_PACKAGE_DIR may
// load Node's built-ins, their own files and the packages named in GOMIRROR_ALLOWED_PACKAGES
// (the peer dependencies), nothing else, as when a user installed only the peers beside it. What
// the peers themselves load is left alone. The error is Node's own code, with what was asked.
const Module = require("node:module");
const path = require("node:path");

const dir = path.resolve(process.env.GOMIRROR_PACKAGE_DIR) + path.sep;
const allowed = new Set(process.env.GOMIRROR_ALLOWED_PACKAGES.split(","));
const packageName = (request) =>
  request
    .split("/")
    .slice(0, request.startsWith("@") ? 2 : 1)
    .join("/");

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const bare = !request.startsWith(".") && !path.isAbsolute(request);
  if (
    bare &&
    parent?.filename?.startsWith(dir) &&
    !Module.isBuiltin(request) &&
    !allowed.has(packageName(request))
  ) {
    const err = new Error(
      `Cannot find module '${request}': ${path.relative(dir, parent.filename)} loads it, and it is not a peer dependency`,
    );
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  return resolve.call(this, request, parent, ...rest);
};
