/**
 * The dashboard's charts, on Chart.js (only the parts used are registered, so the bundle carries
 * no more of it). Charts are created once and updated in place, without animation: a live page
 * redraws them every time the statistics are refreshed.
 */
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { byTypeChartData, groupSeries, seriesChartData, type GenerationType, type TrendGrouping, type UsageStats } from "@credit-backend/client/admin";
import { TYPE_COLORS } from "./generation";

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, DoughnutController, ArcElement, CategoryScale, LinearScale, Tooltip, Legend, Filler);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
Chart.defaults.color = "#5d6677";
Chart.defaults.animation = false;

const BRAND = "#3056d3";
const INK = "#1d2330";
const GRID = "#eceff4";

/** Credits used and credits expired (bars side by side, left axis) and finished generations (line, right axis) per bucket. */
export class TrendChart {
  private chart: Chart<"bar" | "line", number[], string>;

  constructor(canvas: HTMLCanvasElement) {
    const config: ChartConfiguration<"bar" | "line", number[], string> = {
      type: "bar",
      data: {
        labels: [],
        datasets: [
          { type: "bar", label: "Credits used", data: [], backgroundColor: "rgba(48, 86, 211, .75)", borderRadius: 3, yAxisID: "y", order: 2 },
          { type: "bar", label: "Credits expired", data: [], backgroundColor: "rgba(194, 58, 50, .6)", borderRadius: 3, yAxisID: "y", order: 3 },
          {
            type: "line",
            label: "Generations",
            data: [],
            borderColor: "#d98a00",
            backgroundColor: "#d98a00",
            pointRadius: 2,
            borderWidth: 2,
            cubicInterpolationMode: "monotone",
            yAxisID: "y1",
            order: 1,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "top", align: "end", labels: { boxWidth: 12 } } },
        scales: {
          x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0, maxTicksLimit: 12 } },
          y: { beginAtZero: true, grid: { color: GRID }, title: { display: true, text: "credits" }, ticks: { precision: 0 } },
          y1: { beginAtZero: true, position: "right", grid: { display: false }, title: { display: true, text: "generations" }, ticks: { precision: 0 } },
        },
      },
    };
    this.chart = new Chart(canvas, config);
  }

  /** Draw the series; a daily one per day, week or month (`grouping`), an hourly one per hour. */
  update(stats: UsageStats, grouping: TrendGrouping = "day"): void {
    const data = groupSeries(seriesChartData(stats), stats.interval === "day" ? grouping : "day");
    const canvas = this.chart.canvas;
    canvas.dataset.grouping = stats.interval === "day" ? grouping : "hour";
    canvas.dataset.columns = String(data.labels.length);
    canvas.dataset.credits = String(data.credits.reduce((a, b) => a + b, 0));
    canvas.dataset.expired = String(data.expired.reduce((a, b) => a + b, 0));
    canvas.dataset.expiredSeries = data.expired.join(",");
    this.chart.data.labels = data.labels;
    this.chart.data.datasets[0]!.data = data.credits;
    this.chart.data.datasets[2]!.data = data.expired;
    this.chart.data.datasets[1]!.data = data.generations;
    this.chart.update("none");
  }
}

/** Credits used by generation type over the range. */
export class ByTypeChart {
  private chart: Chart<"doughnut", number[], string>;

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: "doughnut",
      data: { labels: [], datasets: [{ data: [], backgroundColor: [], borderWidth: 1 }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        cutout: "58%",
        plugins: {
          legend: { position: "right", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (item) => ` ${item.label}: ${Number(item.raw).toLocaleString("en-US")} credits` } },
        },
      },
    });
  }

  update(stats: UsageStats): void {
    const data = byTypeChartData(stats);
    this.chart.data.labels = data.types.map((t) => t[0]!.toUpperCase() + t.slice(1));
    const dataset = this.chart.data.datasets[0]!;
    dataset.data = data.credits;
    dataset.backgroundColor = data.types.map((t: GenerationType) => TYPE_COLORS[t]);
    this.chart.update("none");
  }
}

/** Credits consumed per hour over the last 24 hours (the Live AI tab). */
export class HourlyCreditsChart {
  private chart: Chart<"bar", number[], string>;

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: "bar",
      data: { labels: [], datasets: [{ label: "Credits per hour", data: [], backgroundColor: BRAND, borderRadius: 2 }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => `${items[0]?.label ?? ""} UTC` } } },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8, color: INK } },
          y: { beginAtZero: true, grid: { color: GRID }, ticks: { precision: 0, maxTicksLimit: 4 } },
        },
      },
    });
  }

  update(stats: UsageStats): void {
    const data = seriesChartData(stats);
    this.chart.data.labels = data.labels;
    this.chart.data.datasets[0]!.data = data.credits;
    this.chart.update("none");
  }
}
