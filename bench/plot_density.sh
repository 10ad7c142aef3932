#!/bin/bash
# SVG plot of bench/density.sh's CSV: start latency (CLI, median of each
# step) and the host memory accounted to each VM (monitor PSS, kernel slab,
# page tables, kernel stacks: MemAvailable alone is too noisy on a shared
# machine) against the number of VMs alive.
# usage: plot_density.sh CSV > docs/density.svg
awk -F, '
NR == 1 || /^#/ { next }
{ n[++k] = $1; lat[k] = $8 / 1000.0; mem[k] = ($4 + $5 + $6 + $7) / 1024.0
  if ($1 > maxn) maxn = $1; if (lat[k] > maxl) maxl = lat[k]; if (mem[k] > maxm) maxm = mem[k] }
END {
  W = 640; H = 360; L = 60; R = 60; Tp = 30; Bt = 50; pw = W - L - R; ph = H - Tp - Bt
  maxl = maxl * 1.15 + 0.001; maxm = maxm * 1.15 + 0.001
  printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H
  printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H
  printf "<text x=\"%d\" y=\"18\" text-anchor=\"middle\">lightvmd: idle 64 MiB VMs alive vs start latency and host memory per VM</text>\n", W / 2
  printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, H - Bt, W - R, H - Bt
  printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, Tp, L, H - Bt
  printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", W - R, Tp, W - R, H - Bt
  for (t = 0; t <= 4; t++) {
    y = H - Bt - ph * t / 4
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#1f77b4\">%.1f</text>\n", L - 4, y + 4, maxl * t / 4
    printf "<text x=\"%d\" y=\"%d\" fill=\"#d62728\">%.2f</text>\n", W - R + 4, y + 4, maxm * t / 4
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", L + pw * t / 4, H - Bt + 16, maxn * t / 4
  }
  printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">VMs alive</text>\n", L + pw / 2, H - 12
  printf "<text x=\"14\" y=\"%d\" fill=\"#1f77b4\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">start, ms (lightvm run -d, median)</text>\n", Tp + ph / 2, Tp + ph / 2
  printf "<text x=\"%d\" y=\"%d\" fill=\"#d62728\" transform=\"rotate(90 %d %d)\" text-anchor=\"middle\">MiB per VM: monitor PSS + slab + page tables + stacks</text>\n", W - 14, Tp + ph / 2, W - 14, Tp + ph / 2
  for (s = 0; s < 2; s++) {
    printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", s ? "#d62728" : "#1f77b4"
    for (i = 1; i <= k; i++) {
      v = s ? mem[i] / maxm : lat[i] / maxl
      printf "%.1f,%.1f ", L + pw * n[i] / maxn, H - Bt - ph * v
    }
    printf "\"/>\n"
  }
  printf "</svg>\n"
}' "$1"
