/**
 * dbus-next 0.10.2 (pinned in package.json), loaded only with --systemd-cgroup: the CLI bundles
 * this module with dbus-next as bin/berth-dbus.js of its own (scripts/bundle.mjs), so that no
 * other command parses it. Beside its public API, two of its own modules, for systemd's private
 * socket (systemd.ts): a connection on any address, and MessageBus, to run over it.
 */
const pub = require("dbus-next");

export const dbusNext = {
  ...pub,
  createConnection: require("dbus-next/lib/connection.js"),
  MessageBus: require("dbus-next/lib/bus.js"),
};
