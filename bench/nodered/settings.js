// Node-RED settings for the benchmark peer of bench/mqtt_cost.py (see README.md). Headless: no
// editor, no admin API, no HTTP server at all (httpAdminRoot and httpNodeRoot false), nothing
// written outside the userDir (no flow file writes: there is no deploy), warnings and errors only. The broker port and QoS come from the
// environment (MQTT_PORT, MQTT_QOS), substituted into flows.json's ${...} properties.
module.exports = {
    // --userDir on the command line wins; else NODE_RED_USER_DIR; else Node-RED's default (~/.node-red).
    userDir: process.env.NODE_RED_USER_DIR || undefined,
    flowFile: "flows.json",   // the positional argument on the command line wins (give an absolute path)
    flowFilePretty: true,
    credentialSecret: "gatehouse-bench-not-a-secret",   // the flow has no credentials; fixed so none is generated
    // Not readOnly: Node-RED then logs an error for the missing <userDir>/package.json it would have
    // made. It writes only into the userDir (package.json, .config.*.json); the flow file is written
    // only by a deploy, and there is no editor to deploy from.

    httpAdminRoot: false,     // no editor, no admin API
    httpNodeRoot: false,      // no HTTP-in endpoints: with both false Node-RED starts no HTTP server
    uiHost: "127.0.0.1",
    uiPort: parseInt(process.env.NODE_RED_PORT || "1880", 10),   // unused while both roots are false
    disableEditor: true,

    logging: {
        console: { level: process.env.NODE_RED_LOG_LEVEL || "warn", metrics: false, audit: false },
    },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    telemetry: { enabled: false },   // no update check
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    functionExternalModules: false,
    exportGlobalContextKeys: false,
    contextStorage: { default: { module: "memory" } },
    mqttReconnectTime: 1000,
};
