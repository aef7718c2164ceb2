// gomirror's public surface. The same parts are also importable on their own, so that a user
// needs only the peer dependency of the part they use:
//   "gomirror/proxy" (no peers), "gomirror/aws" (aws-cdk-lib), "gomirror/kubernetes" (cdktf).
export * from "./proxy";
export * from "./aws";
export * from "./kubernetes";
