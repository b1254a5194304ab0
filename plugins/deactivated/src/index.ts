// The package's main module: what other plugins may call (e.g. `drc unused all`), resolved at run time.
export {planDeactivated} from './plan.js'
