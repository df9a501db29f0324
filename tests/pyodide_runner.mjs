// Run a Python file inside Pyodide under Node.js, with wheels unpacked into its site-packages.
// Usage: node pyodide_runner.mjs PYODIDE_DIR WHEELS_DIR SCRIPT.py
// The script's last expression (a str) is printed on stdout; a Python exception exits with status 1.
// Node exits once the script is done, whatever timers Python's event loop still holds.
import fs from "fs";
import path from "path";
const [pyodideDir, wheelsDir, script] = process.argv.slice(2);
const { loadPyodide } = await import(path.resolve(pyodideDir, "pyodide.mjs"));
const py = await loadPyodide({ indexURL: path.resolve(pyodideDir) + "/" });
for (const wheel of fs.readdirSync(wheelsDir).filter((name) => name.endsWith(".whl"))) {
  py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(wheelsDir, wheel))), "wheel");
}
try {
  const result = await py.runPythonAsync(fs.readFileSync(script, "utf8"));
  process.stdout.write(String(result));
} catch (error) {
  process.stderr.write(String(error));
  process.exitCode = 1;
}
process.stdout.write("", () => process.exit());
