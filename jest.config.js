/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 60000,
  maxWorkers: 2,
};
