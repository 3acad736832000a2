// The Khronos glTF validator on our GLB exports (development only; Node and npm, nothing of it ships):
//   npm install --prefix /tmp/gv gltf-validator@2.0.0-dev.3.10
//   NODE_PATH=/tmp/gv/node_modules node tools/validate_gltf.js out/demo/demo.glb
// Prints the validator's counts and messages; exits 1 when it reports an error or a warning.
const fs = require("fs");
const validator = require("gltf-validator");

validator.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])), { maxIssues: 50 }).then((report) => {
  const { numErrors, numWarnings, numInfos, messages } = report.issues;
  console.log(JSON.stringify({ numErrors, numWarnings, numInfos, animations: report.info.animationCount, messages }));
  process.exit(numErrors || numWarnings ? 1 : 0);
});
