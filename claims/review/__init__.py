"""Review tools: scenario files, their runner and reports, sweeps, replay."""
