import { Chalk } from "chalk";

// chalk follows the terminal's colour support but not the NO_COLOR convention (no-color.org),
// so it is applied here once for every command.
const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";

export const color = noColor ? new Chalk({ level: 0 }) : new Chalk();
