/** Build identity, injected by scripts/bundle.mjs (esbuild `define`); dev values otherwise. */
declare const BERTH_VERSION: string;
declare const BERTH_COMMIT: string;

export const version = typeof BERTH_VERSION === "string" ? BERTH_VERSION : "0.0.0-dev";
export const commit = typeof BERTH_COMMIT === "string" ? BERTH_COMMIT : "unknown";
