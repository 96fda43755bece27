export type { Command, Io } from "./command.js";
export { main, stdio } from "./main.js";
