/**
 * The kho command, as a library: main and plugin loading.
 *
 * @module @khosim/cli
 */

export type { Command, Group, Invocation, Io, Leaf, OptionSpec } from "./command.js";
export { main, stdio, VERSION } from "./main.js";
export { BUILTIN_PLUGINS, loadPlugins, pluginsOf, resolvePluginModule } from "./plugins.js";
