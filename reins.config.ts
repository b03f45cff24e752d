// The agents `reins` commands use in this repository (diagram, worker, console, commands on runs nobody hosts):
// the demo fleet's, so that the runs `npm run demo` leaves in .reins can be operated from here.
export { agents } from './examples/fleet/index.js';
