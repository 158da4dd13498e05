//! The HTML rendering of a report: one self-contained page with a swimlane
//! timeline of the trace, one lane per task.
//!
//! The page loads nothing from anywhere: the styles, the drawing of the
//! wait-for graph (inline SVG) and the few lines of script are all in the
//! one file, so it can be attached to a CI run, mailed or opened offline.
//! Every piece of text that comes from the report (names, messages, file
//! paths, operations) is escaped, so a task named `<script>` is shown, not
//! run.
//!
//! The layout, top to bottom:
//!
//! - a header: the kind, the message, the test, the schedule and the command
//!   that replays it;
//! - the timeline: one lane (`class="lane"`, `data-task="<id>"`) per task,
//!   with the trace events placed by step, a task that ends blocked shaded
//!   from its last event to the end, and the tasks the report is about
//!   (`data-involved="true"`) highlighted;
//! - the wait-for graph, drawn as arrows and listed;
//! - the tasks in a table, and every event of the trace in a table.

use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::PI;
use std::fmt::{self, Display, Formatter, Write as _};

use crate::model::{ObjectRef, Report, ReportKind, TaskReport, TaskState, TraceEvent};

impl Report {
    /// Renders the report as a self-contained HTML page with a swimlane
    /// timeline: one lane per task, the trace events placed by step.
    ///
    /// Each lane is an element with `class="lane"` and `data-task="<id>"`;
    /// the lane of a task the report is about also has
    /// `data-involved="true"`. The page needs no network and no script to
    /// be read.
    ///
    /// # Examples
    ///
    /// ```
    /// use knot_report::{Report, ReportKind, TaskReport, TaskState};
    ///
    /// let mut report = Report::new(ReportKind::Leak, "a task is blocked forever");
    /// report.tasks.push(TaskReport {
    ///     id: 1,
    ///     name: "<worker>".to_string(),
    ///     spawn_site: None,
    ///     state: TaskState::Blocked,
    ///     blocked_on: None,
    ///     holds: Vec::new(),
    ///     daemon: false,
    ///     involved: true,
    /// });
    ///
    /// let html = report.to_html();
    /// assert!(html.starts_with("<!DOCTYPE html>"));
    /// assert!(html.contains(r#"data-task="1""#));
    /// assert!(html.contains("&lt;worker&gt;"));
    /// ```
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        Page::new(self)
            .write(&mut out)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Text from the report, escaped for HTML text and attribute values alike.
struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'', '\0']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                // NUL is not allowed in an HTML document.
                _ => "\u{FFFD}",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// Escapes anything that displays, such as a site or an [`ObjectRef`].
fn esc(value: &impl Display) -> String {
    Esc(&value.to_string()).to_string()
}

/// What the report says, arranged for the page: lanes, columns, events.
struct Page<'a> {
    report: &'a Report,
    /// One lane per task: the report's tasks in order, then any task that
    /// appears in the trace without being listed.
    lanes: Vec<(u64, Option<&'a TaskReport>)>,
    /// The distinct steps of the trace, in order: one column each.
    steps: Vec<u64>,
    /// The events of each task, by step.
    events: BTreeMap<u64, BTreeMap<u64, Vec<&'a TraceEvent>>>,
}

impl<'a> Page<'a> {
    fn new(report: &'a Report) -> Page<'a> {
        let mut seen = BTreeSet::new();
        let mut lanes = Vec::new();
        for task in &report.tasks {
            if seen.insert(task.id) {
                lanes.push((task.id, Some(task)));
            }
        }
        let mut unlisted: Vec<u64> = report
            .trace
            .iter()
            .map(|event| event.task)
            .filter(|id| !seen.contains(id))
            .collect();
        unlisted.sort_unstable();
        unlisted.dedup();
        lanes.extend(unlisted.into_iter().map(|id| (id, None)));

        let steps: BTreeSet<u64> = report.trace.iter().map(|event| event.step).collect();
        let mut events: BTreeMap<u64, BTreeMap<u64, Vec<&TraceEvent>>> = BTreeMap::new();
        for event in &report.trace {
            events
                .entry(event.task)
                .or_default()
                .entry(event.step)
                .or_default()
                .push(event);
        }
        Page {
            report,
            lanes,
            steps: steps.into_iter().collect(),
            events,
        }
    }

    /// The grid column (1-based, as CSS counts) of `step`; column 1 holds
    /// the lane labels.
    fn column(&self, step: u64) -> usize {
        match self.steps.binary_search(&step) {
            Ok(i) | Err(i) => i + 2,
        }
    }

    /// The grid column after the last step: the end of the execution.
    fn end_column(&self) -> usize {
        self.steps.len() + 2
    }

    /// The narrowest a step column can be: wide enough for the longest
    /// operation or object name of the trace, within limits (a longer one
    /// is cut, and shown whole in the event's tooltip).
    fn step_min_width(&self) -> u32 {
        let widest = self
            .report
            .trace
            .iter()
            .map(|event| {
                let object = event.object.as_ref().map_or(0, |object| {
                    object.kind.chars().count() + 1 + object.id.to_string().len()
                });
                (object as f64 * 6.7).max(event.operation.chars().count() as f64 * 7.6)
            })
            .fold(0.0, f64::max);
        (widest + 24.0).clamp(64.0, 170.0).ceil() as u32
    }

    fn task_name(&self, id: u64) -> String {
        match self.report.task(id) {
            Some(task) => task.name.clone(),
            None => format!("task {id}"),
        }
    }

    fn write(&self, out: &mut String) -> fmt::Result {
        let report = self.report;
        let kind = kind_slug(report.kind);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"knot\">\n",
        );
        write!(out, "<title>knot: {}", report.kind)?;
        if let Some(test) = &report.test {
            write!(out, " in {}", Esc(test))?;
        }
        out.push_str("</title>\n<style>\n");
        out.push_str(STYLE);
        // The parts of the style that depend on the report: the colour of
        // its kind and the number of step columns.
        let steps = self.steps.len().max(1);
        writeln!(
            out,
            ":root {{ --kind: {}; --kind-soft: {}; --steps: {steps}; --step-min: {}px; }}",
            kind_colour(report.kind).0,
            kind_colour(report.kind).1,
            self.step_min_width(),
        )?;
        if self.steps.is_empty() {
            out.push_str(
                ".axis, .lane { grid-template-columns: var(--label) minmax(var(--end), 1fr); }\n",
            );
        } else {
            writeln!(
                out,
                ".axis, .lane {{ grid-template-columns: var(--label) repeat({}, var(--step)) minmax(var(--end), 1fr); }}",
                self.steps.len()
            )?;
        }
        out.push_str("</style>\n</head>\n");
        writeln!(out, "<body class=\"kind-{kind}\">")?;
        self.write_header(out)?;
        out.push_str("<main>\n");
        self.write_timeline(out)?;
        self.write_wait_for(out)?;
        self.write_tasks(out)?;
        self.write_events(out)?;
        out.push_str("</main>\n");
        out.push_str(SCRIPT);
        out.push_str("</body>\n</html>\n");
        Ok(())
    }

    fn write_header(&self, out: &mut String) -> fmt::Result {
        let report = self.report;
        out.push_str("<header class=\"head\">\n");
        writeln!(out, "<span class=\"kind\">{}</span>", report.kind)?;
        writeln!(out, "<h1>{}</h1>", headline(report.kind))?;
        if !report.message.is_empty() {
            writeln!(out, "<p class=\"message\">{}</p>", Esc(&report.message))?;
        }
        out.push_str("<dl class=\"facts\">\n");
        if let Some(test) = &report.test {
            writeln!(out, "<dt>test</dt><dd><code>{}</code></dd>", Esc(test))?;
        }
        if report.schedule.is_empty() {
            out.push_str(
                "<dt>schedule</dt><dd class=\"muted\">none: this report does not come from \
                 the checker, so it does not replay</dd>\n",
            );
        } else {
            writeln!(
                out,
                "<dt>schedule</dt><dd><code>{}</code></dd>",
                Esc(&report.schedule)
            )?;
            writeln!(
                out,
                "<dt>replay</dt><dd><code class=\"replay\">{}</code></dd>",
                Esc(&report.replay_command())
            )?;
        }
        if let Some(search) = &report.search {
            writeln!(
                out,
                "<dt>found by</dt><dd>strategy <code>{}</code>, seed <code>{}</code>, \
                 execution <code>{}</code></dd>",
                Esc(&search.strategy),
                search.seed,
                search.execution
            )?;
        }
        out.push_str("</dl>\n</header>\n");
        Ok(())
    }

    fn write_timeline(&self, out: &mut String) -> fmt::Result {
        let report = self.report;
        out.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
        write!(
            out,
            "<p class=\"note\">{} {}, {} {}",
            self.lanes.len(),
            plural(self.lanes.len(), "task", "tasks"),
            report.trace.len(),
            plural(report.trace.len(), "event", "events"),
        )?;
        if let (Some(first), Some(last)) = (self.steps.first(), self.steps.last()) {
            write!(out, ", steps {first} to {last}")?;
        }
        out.push('.');
        if report.tasks.iter().any(is_blocked) {
            out.push_str(" <span class=\"key key-blocked\"></span> blocked until the end");
        }
        if report.tasks.iter().any(|task| task.involved) {
            write!(
                out,
                " <span class=\"key key-involved\"></span> {}",
                involved_word(report.kind)
            )?;
        }
        out.push_str("</p>\n");
        self.write_legend(out)?;

        out.push_str("<div class=\"scroll\">\n<div class=\"timeline\">\n");
        // The axis: one tick per step that has an event.
        out.push_str("<div class=\"axis\"><div class=\"label\">task \\ step</div>");
        let mut previous = None;
        for &step in &self.steps {
            let gap = previous.is_some_and(|p: u64| step > p + 1);
            if gap {
                write!(
                    out,
                    "<div class=\"tick gap\" title=\"no recorded event between step {} and step {step}\">{step}</div>",
                    previous.unwrap_or_default()
                )?;
            } else {
                write!(out, "<div class=\"tick\">{step}</div>")?;
            }
            previous = Some(step);
        }
        out.push_str("<div class=\"tick end\">end</div></div>\n");
        for &(id, task) in &self.lanes {
            self.write_lane(out, id, task)?;
        }
        out.push_str("</div>\n</div>\n</section>\n");
        Ok(())
    }

    fn write_legend(&self, out: &mut String) -> fmt::Result {
        let used: BTreeSet<Category> = self.report.trace.iter().map(category).collect();
        if used.is_empty() {
            return Ok(());
        }
        out.push_str("<p class=\"legend\">");
        for category in used {
            write!(
                out,
                "<span class=\"ev-key cat-{}\">{}</span>",
                category.slug(),
                category.label()
            )?;
        }
        out.push_str("</p>\n");
        Ok(())
    }

    fn write_lane(&self, out: &mut String, id: u64, task: Option<&TaskReport>) -> fmt::Result {
        let involved = task.is_some_and(|task| task.involved);
        write!(out, "<div class=\"lane")?;
        if involved {
            out.push_str(" involved");
        }
        write!(out, "\" data-task=\"{id}\"")?;
        if involved {
            out.push_str(" data-involved=\"true\"");
        }
        out.push_str(">\n");

        // The label: id, name, and what marks the task out.
        write!(out, "<div class=\"label\"")?;
        if let Some(site) = task.and_then(|task| task.spawn_site.as_ref()) {
            write!(out, " title=\"spawned at {}\"", esc(site))?;
        }
        write!(
            out,
            "><div class=\"top\"><span class=\"tid\">{id}</span><span class=\"tname\">{}</span></div><div class=\"sub\">",
            Esc(&self.task_name(id))
        )?;
        if involved {
            write!(
                out,
                "<span class=\"badge\">{}</span>",
                involved_badge(self.report.kind)
            )?;
        }
        match task {
            Some(task) if task.daemon => out.push_str("<span class=\"tag\">daemon</span>"),
            Some(_) => {}
            None => out.push_str("<span class=\"tag\">not in the report</span>"),
        }
        out.push_str("</div></div>\n");

        let by_step = self.events.get(&id);
        let first = by_step.and_then(|m| m.keys().next().copied());
        let last = by_step.and_then(|m| m.keys().next_back().copied());
        let blocked = task.filter(|task| is_blocked(task));

        // The task's life across the trace: a line from its first event to
        // its last, then a shaded band to the end if it ends blocked, or a
        // dashed line if it could still run.
        if let (Some(first), Some(last)) = (first, last) {
            if first != last {
                writeln!(
                    out,
                    "<div class=\"life\" style=\"grid-column: {} / {}\"></div>",
                    self.column(first),
                    self.column(last) + 1
                )?;
            }
        }
        let tail_start = match last {
            Some(step) => self.column(step),
            None => 2,
        };
        let tail_class = if last.is_some() { "" } else { " whole" };
        if blocked.is_some() {
            writeln!(
                out,
                "<div class=\"band{tail_class}\" style=\"grid-column: {tail_start} / -1\"></div>"
            )?;
        } else if !self.steps.is_empty()
            && task.is_some_and(|task| matches!(task.state, TaskState::Runnable))
        {
            writeln!(
                out,
                "<div class=\"tail{tail_class}\" style=\"grid-column: {tail_start} / -2\"></div>"
            )?;
        }

        if let Some(by_step) = by_step {
            let blocking_operation = blocked
                .and_then(|task| task.blocked_on.as_ref())
                .map(|b| b.operation.as_str());
            for (&step, events) in by_step {
                write!(
                    out,
                    "<div class=\"cell\" style=\"grid-column: {}\">",
                    self.column(step)
                )?;
                for (i, event) in events.iter().enumerate() {
                    // The task's very last event, if it is the operation it
                    // blocked in, is where it stopped: outline it.
                    let is_last = Some(step) == last && i + 1 == events.len();
                    let blocking = is_last && blocking_operation == Some(event.operation.as_str());
                    self.write_event(out, event, blocking)?;
                }
                out.push_str("</div>\n");
            }
        }

        // The end column: how the task ended.
        write!(
            out,
            "<div class=\"final\" style=\"grid-column: {}\">",
            self.end_column()
        )?;
        match task {
            Some(task) => write_final_state(out, task)?,
            None => out.push_str("<span class=\"state muted\">unknown</span>"),
        }
        out.push_str("</div>\n</div>\n");
        Ok(())
    }

    fn write_event(&self, out: &mut String, event: &TraceEvent, blocking: bool) -> fmt::Result {
        let mut title = format!(
            "step {}, task {} \"{}\": {}",
            event.step,
            event.task,
            self.task_name(event.task),
            event.operation
        );
        if let Some(object) = &event.object {
            write!(title, " {object}")?;
        }
        if let Some(site) = &event.site {
            write!(title, "\nat {site}")?;
        }
        write!(out, "<div class=\"ev cat-{}", category(event).slug())?;
        if blocking {
            out.push_str(" blocking");
        }
        write!(
            out,
            "\" title=\"{}\"><span class=\"op\">{}</span>",
            Esc(&title),
            Esc(&event.operation)
        )?;
        if let Some(object) = &event.object {
            write!(
                out,
                "<span class=\"obj\">{}#{}</span>",
                Esc(&object.kind),
                object.id
            )?;
        }
        out.push_str("</div>");
        Ok(())
    }

    fn write_wait_for(&self, out: &mut String) -> fmt::Result {
        let report = self.report;
        if report.wait_for.is_empty() {
            return Ok(());
        }
        out.push_str("<section id=\"wait-for\">\n<h2>Wait-for graph</h2>\n");
        out.push_str(
            "<p class=\"note\">An arrow goes from a blocked task to the task that holds \
             what it waits for, or to the only tasks that could wake it.</p>\n",
        );
        self.write_graph(out)?;
        out.push_str("<ul class=\"edges\">\n");
        for edge in &report.wait_for {
            write!(
                out,
                "<li>{} <span class=\"arrow\">&rarr;</span> <code>{}</code> <span class=\"arrow\">&rarr;</span> ",
                self.task_chip(edge.task),
                esc(&edge.object)
            )?;
            if edge.holders.is_empty() {
                out.push_str("nobody can wake it</li>\n");
                continue;
            }
            // The same split as the text: a lock has holders, a channel or
            // a join only has tasks that could wake the waiter.
            let (holding, waking): (Vec<u64>, Vec<u64>) =
                edge.holders.iter().partition(|&&holder| {
                    report
                        .task(holder)
                        .is_some_and(|task| holds(task, &edge.object))
                });
            if !holding.is_empty() {
                out.push_str("held by ");
                self.write_chips(out, &holding);
            }
            if !waking.is_empty() {
                if !holding.is_empty() {
                    out.push_str("; ");
                }
                out.push_str("only ");
                self.write_chips(out, &waking);
                out.push_str(" can wake it");
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n</section>\n");
        Ok(())
    }

    fn task_chip(&self, id: u64) -> String {
        let involved = self.report.task(id).is_some_and(|task| task.involved);
        format!(
            "<span class=\"chip{}\"><span class=\"tid\">{id}</span>{}</span>",
            if involved { " involved" } else { "" },
            Esc(&self.task_name(id))
        )
    }

    fn write_chips(&self, out: &mut String, ids: &[u64]) {
        for (i, &id) in ids.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&self.task_chip(id));
        }
    }

    /// Draws the wait-for graph: tasks on a circle, an arrow per edge from
    /// the waiter to each holder, labelled with the object.
    fn write_graph(&self, out: &mut String) -> fmt::Result {
        let report = self.report;
        let mut nodes: Vec<Node> = Vec::new();
        let node_of = |nodes: &mut Vec<Node>, node: Node| -> usize {
            match nodes.iter().position(|n| *n == node) {
                Some(i) => i,
                None => {
                    nodes.push(node);
                    nodes.len() - 1
                }
            }
        };
        // (from, to, label, between two involved tasks)
        let mut arrows: Vec<(usize, usize, String, bool)> = Vec::new();
        for (i, edge) in report.wait_for.iter().enumerate() {
            let from = node_of(&mut nodes, Node::Task(edge.task));
            let label = format!("{}#{}", edge.object.kind, edge.object.id);
            if edge.holders.is_empty() {
                let to = node_of(&mut nodes, Node::Nobody(i));
                arrows.push((from, to, String::new(), false));
            }
            for &holder in &edge.holders {
                let to = node_of(&mut nodes, Node::Task(holder));
                let hot = [edge.task, holder]
                    .iter()
                    .all(|&id| report.task(id).is_some_and(|task| task.involved));
                arrows.push((from, to, label.clone(), hot));
            }
        }

        // The boxes, sized by their text.
        let boxes: Vec<GraphBox> = nodes
            .iter()
            .map(|node| {
                let (name, sub, class) = match *node {
                    Node::Task(id) => {
                        let involved = report.task(id).is_some_and(|task| task.involved);
                        (
                            self.task_name(id),
                            format!("task {id}"),
                            if involved { "node involved" } else { "node" },
                        )
                    }
                    Node::Nobody(i) => {
                        let object = &report.wait_for[i].object;
                        (
                            format!("{}#{}", object.kind, object.id),
                            "nobody can wake it".to_string(),
                            "node nobody",
                        )
                    }
                };
                let width = (text_width(&name, 7.8).max(text_width(&sub, 6.4)) + 28.0).max(84.0);
                GraphBox {
                    name,
                    sub,
                    class,
                    half_width: width / 2.0,
                    half_height: 20.0,
                    x: 0.0,
                    y: 0.0,
                }
            })
            .collect();
        let mut boxes = boxes;

        let links: Vec<(usize, usize)> = arrows.iter().map(|a| (a.0, a.1)).collect();
        let widest_label = arrows
            .iter()
            .map(|a| text_width(&a.2, 7.4))
            .fold(0.0, f64::max);
        place(&mut boxes, &links, widest_label);

        let mut bounds = Bounds::default();
        for b in &boxes {
            bounds.add(b.x - b.half_width, b.y - b.half_height);
            bounds.add(b.x + b.half_width, b.y + b.half_height);
        }
        let mut paths = String::new();
        let mut labels = String::new();
        let mut drawn: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for (from, to, label, hot) in &arrows {
            let class = if *hot { "edge hot" } else { "edge" };
            let marker = if *hot { "arrow-hot" } else { "arrow" };
            let (a, b) = (&boxes[*from], &boxes[*to]);
            let label_half_width = text_width(label, 7.4) / 2.0 + 4.0;
            if from == to {
                // A task waiting on itself: a loop over its box.
                let top = a.y - a.half_height;
                let side = a.half_width / 3.0;
                writeln!(
                    paths,
                    "<path class=\"{class}\" marker-end=\"url(#{marker})\" d=\"M{:.1},{top:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{top:.1}\"/>",
                    a.x - side,
                    a.x - side - 30.0,
                    top - 55.0,
                    a.x + side + 30.0,
                    top - 55.0,
                    a.x + side,
                )?;
                write_graph_label(&mut labels, a.x, top - 46.0, label)?;
                bounds.add(a.x - label_half_width, top - 62.0);
                continue;
            }
            let reverse = arrows.iter().any(|(f, t, _, _)| f == to && t == from);
            let count = drawn.entry((*from, *to)).or_insert(0);
            let bend = if reverse { 36.0 } else { 0.0 } + 30.0 * *count as f64;
            *count += 1;
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let length = (dx * dx + dy * dy).sqrt().max(1.0);
            let (nx, ny) = (-dy / length, dx / length);
            let (qx, qy) = ((a.x + b.x) / 2.0 + nx * bend, (a.y + b.y) / 2.0 + ny * bend);
            let (sx, sy) = a.exit((qx, qy), 2.0);
            let (ex, ey) = b.exit((qx, qy), 3.0);
            writeln!(
                paths,
                "<path class=\"{class}\" marker-end=\"url(#{marker})\" d=\"M{sx:.1},{sy:.1} Q{qx:.1},{qy:.1} {ex:.1},{ey:.1}\"/>"
            )?;
            // The label sits on the middle of the curve.
            let (mx, my) = (
                0.25 * sx + 0.5 * qx + 0.25 * ex,
                0.25 * sy + 0.5 * qy + 0.25 * ey,
            );
            // On a straight arrow, just above the line.
            let my = if bend == 0.0 { my - 9.0 } else { my };
            write_graph_label(&mut labels, mx, my, label)?;
            bounds.add(mx - label_half_width, my - 12.0);
            bounds.add(mx + label_half_width, my + 12.0);
        }

        let margin = 24.0;
        let (x, y) = (bounds.min_x - margin, bounds.min_y - margin);
        let width = bounds.max_x - bounds.min_x + 2.0 * margin;
        let height = bounds.max_y - bounds.min_y + 2.0 * margin;
        writeln!(
            out,
            "<svg class=\"graph\" viewBox=\"{x:.0} {y:.0} {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"wait-for graph\">"
        )?;
        out.push_str(
            "<defs>\
             <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#57606a\"/></marker>\
             <marker id=\"arrow-hot\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"var(--kind)\"/></marker>\
             </defs>\n",
        );
        // Arrows first, so that the boxes sit on their ends; labels last,
        // so that nothing hides them.
        out.push_str(&paths);
        for b in &boxes {
            writeln!(
                out,
                "<g class=\"{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"7\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"name\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" class=\"sub\">{}</text></g>",
                b.class,
                b.x - b.half_width,
                b.y - b.half_height,
                2.0 * b.half_width,
                2.0 * b.half_height,
                b.x,
                b.y - 3.0,
                Esc(&b.name),
                b.x,
                b.y + 12.0,
                Esc(&b.sub)
            )?;
        }
        out.push_str(&labels);
        out.push_str("</svg>\n");
        Ok(())
    }

    fn write_tasks(&self, out: &mut String) -> fmt::Result {
        let report = self.report;
        if report.tasks.is_empty() {
            return Ok(());
        }
        out.push_str(
            "<section id=\"tasks\">\n<h2>Tasks</h2>\n<table class=\"tasks\">\n\
             <thead><tr><th>id</th><th>name</th><th>state</th><th>holds</th><th>spawned at</th></tr></thead>\n<tbody>\n",
        );
        for task in &report.tasks {
            write!(out, "<tr")?;
            if task.involved {
                out.push_str(" class=\"involved\"");
            }
            write!(
                out,
                "><td class=\"num\">{}</td><td><strong>{}</strong>",
                task.id,
                Esc(&task.name)
            )?;
            if task.involved {
                write!(
                    out,
                    " <span class=\"badge\">{}</span>",
                    involved_badge(report.kind)
                )?;
            }
            if task.daemon {
                out.push_str(" <span class=\"tag\">daemon</span>");
            }
            out.push_str("</td><td>");
            match &task.blocked_on {
                Some(blocked) => {
                    write!(
                        out,
                        "blocked in <code>{}</code> on <code>{}</code>",
                        Esc(&blocked.operation),
                        esc(&blocked.object)
                    )?;
                    if let Some(site) = &blocked.site {
                        write!(out, "<br><span class=\"site\">at {}</span>", esc(site))?;
                    }
                }
                None => write!(out, "<span class=\"pre\">{}</span>", esc(&task.state))?,
            }
            out.push_str("</td><td>");
            for (i, object) in task.holds.iter().enumerate() {
                if i > 0 {
                    out.push_str("<br>");
                }
                write!(out, "<code>{}</code>", esc(object))?;
            }
            out.push_str("</td><td class=\"site\">");
            match &task.spawn_site {
                Some(site) => write!(out, "{}", esc(site))?,
                None => out.push_str("&mdash;"),
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
        Ok(())
    }

    fn write_events(&self, out: &mut String) -> fmt::Result {
        let report = self.report;
        if report.trace.is_empty() {
            return Ok(());
        }
        write!(
            out,
            "<section id=\"events\">\n<details>\n<summary>All {} {} of the trace</summary>\n\
             <table class=\"events\">\n<thead><tr><th>step</th><th>task</th><th>operation</th><th>object</th><th>at</th></tr></thead>\n<tbody>\n",
            report.trace.len(),
            plural(report.trace.len(), "event", "events"),
        )?;
        for event in &report.trace {
            write!(
                out,
                "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td>",
                event.step,
                self.task_chip(event.task),
                Esc(&event.operation)
            )?;
            if let Some(object) = &event.object {
                write!(out, "<code>{}</code>", esc(object))?;
            }
            out.push_str("</td><td class=\"site\">");
            if let Some(site) = &event.site {
                write!(out, "{}", esc(site))?;
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody>\n</table>\n</details>\n</section>\n");
        Ok(())
    }
}

/// A box of the wait-for drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    /// A task, by id.
    Task(u64),
    /// The object of the edge with this index, which nobody can release.
    Nobody(usize),
}

/// A box of the wait-for drawing, placed.
struct GraphBox {
    name: String,
    sub: String,
    class: &'static str,
    half_width: f64,
    half_height: f64,
    x: f64,
    y: f64,
}

impl GraphBox {
    /// Where the line from the box's centre towards `towards` leaves the
    /// box, moved `gap` further out.
    fn exit(&self, towards: (f64, f64), gap: f64) -> (f64, f64) {
        let (dx, dy) = (towards.0 - self.x, towards.1 - self.y);
        let length = (dx * dx + dy * dy).sqrt();
        if length < 1e-9 {
            return (self.x, self.y);
        }
        let scale_x = if dx.abs() > 1e-9 {
            self.half_width / dx.abs()
        } else {
            f64::INFINITY
        };
        let scale_y = if dy.abs() > 1e-9 {
            self.half_height / dy.abs()
        } else {
            f64::INFINITY
        };
        let scale = scale_x.min(scale_y);
        (
            self.x + dx * scale + dx / length * gap,
            self.y + dy * scale + dy / length * gap,
        )
    }
}

/// Places the boxes of the wait-for drawing, linked by `links` (from,
/// to): each connected part on its own, one part under the other. A part
/// with a cycle (a deadlock) goes round a circle, so the cycle shows as
/// one; a part without goes left to right, waiters before what they wait
/// for.
fn place(boxes: &mut [GraphBox], links: &[(usize, usize)], widest_label: f64) {
    let n = boxes.len();
    // The connected parts, by a union-find over the links.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in links {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        parts.entry(r).or_default().push(i);
    }

    let mut top = 0.0;
    for members in parts.values() {
        let inner: Vec<(usize, usize)> = links
            .iter()
            .copied()
            .filter(|(a, b)| a != b && members.contains(a))
            .collect();
        // Longest-path ranks; a rank that keeps growing past the number of
        // members means a cycle.
        let mut rank = vec![0usize; n];
        let mut cyclic = false;
        for round in 0..=members.len() {
            let mut changed = false;
            for &(a, b) in &inner {
                if rank[b] < rank[a] + 1 {
                    rank[b] = rank[a] + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
            if round == members.len() {
                cyclic = true;
            }
        }
        let widest = members
            .iter()
            .map(|&i| boxes[i].half_width)
            .fold(0.0, f64::max);
        if cyclic {
            let count = members.len();
            let radius = if count == 2 {
                widest + 70.0 + widest_label / 2.0
            } else {
                (40.0 * count as f64).max(widest * 1.2 + 40.0).min(360.0)
            };
            for (k, &i) in members.iter().enumerate() {
                // Two boxes side by side; more start at the top and go
                // round.
                let angle = if count == 2 {
                    PI * (1.0 - k as f64)
                } else {
                    -PI / 2.0 + 2.0 * PI * k as f64 / count as f64
                };
                boxes[i].x = radius * angle.cos();
                boxes[i].y = radius * angle.sin();
            }
        } else {
            let ranks = members.iter().map(|&i| rank[i]).max().unwrap_or(0) + 1;
            let gap = 70.0 + widest_label;
            let mut x = 0.0;
            for r in 0..ranks {
                let column: Vec<usize> =
                    members.iter().copied().filter(|&i| rank[i] == r).collect();
                let half = column
                    .iter()
                    .map(|&i| boxes[i].half_width)
                    .fold(0.0, f64::max);
                x += half;
                let rows = column.len() as f64;
                for (k, &i) in column.iter().enumerate() {
                    boxes[i].x = x;
                    boxes[i].y = (k as f64 - (rows - 1.0) / 2.0) * 64.0;
                }
                x += half + gap;
            }
        }
        // Move the part under the previous one, its left edge at 0.
        let mut bounds = Bounds::default();
        for &i in members {
            let b = &boxes[i];
            bounds.add(b.x - b.half_width, b.y - b.half_height);
            bounds.add(b.x + b.half_width, b.y + b.half_height);
        }
        let (dx, dy) = (-bounds.min_x, top - bounds.min_y);
        for &i in members {
            boxes[i].x += dx;
            boxes[i].y += dy;
        }
        // Room for a self-loop's label over the next part.
        top += bounds.max_y - bounds.min_y + 56.0;
    }
}

/// The smallest rectangle around what the drawing holds.
struct Bounds {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
        }
    }
}

impl Bounds {
    fn add(&mut self, x: f64, y: f64) {
        self.min_x = self.min_x.min(x);
        self.min_y = self.min_y.min(y);
        self.max_x = self.max_x.max(x);
        self.max_y = self.max_y.max(y);
    }
}

fn write_graph_label(out: &mut String, x: f64, y: f64, label: &str) -> fmt::Result {
    if label.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<text class=\"edge-label\" x=\"{x:.1}\" y=\"{:.1}\">{}</text>",
        y + 4.0,
        Esc(label)
    )
}

/// A rough width of `text` in the drawing's font, enough to size a box.
fn text_width(text: &str, per_char: f64) -> f64 {
    text.chars().count() as f64 * per_char
}

fn write_final_state(out: &mut String, task: &TaskReport) -> fmt::Result {
    if let Some(blocked) = &task.blocked_on {
        write!(
            out,
            "<span class=\"state blocked\">blocked in {} on {}#{}</span>",
            Esc(&blocked.operation),
            Esc(&blocked.object.kind),
            blocked.object.id
        )?;
        if let Some(site) = &blocked.site {
            write!(out, "<span class=\"site\">at {}</span>", esc(site))?;
        }
        return Ok(());
    }
    match &task.state {
        TaskState::Blocked => out.push_str("<span class=\"state blocked\">blocked</span>"),
        TaskState::Runnable => {
            out.push_str("<span class=\"state runnable\">still runnable</span>");
        }
        TaskState::Finished => out.push_str("<span class=\"state finished\">finished</span>"),
        TaskState::NotStarted => out.push_str("<span class=\"state muted\">never started</span>"),
        TaskState::Panicked(message) => {
            let first = message.lines().next().unwrap_or_default();
            write!(
                out,
                "<span class=\"state panicked\" title=\"{}\">panicked: {}</span>",
                Esc(message),
                Esc(first)
            )?;
        }
    }
    Ok(())
}

fn is_blocked(task: &TaskReport) -> bool {
    task.blocked_on.is_some() || matches!(task.state, TaskState::Blocked)
}

fn holds(task: &TaskReport, object: &ObjectRef) -> bool {
    task.holds
        .iter()
        .any(|held| held.id == object.id && held.kind == object.kind)
}

/// The families of operations, each with its colour on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    Lock,
    Channel,
    Task,
    WaitGroup,
    Time,
    Other,
}

impl Category {
    fn slug(self) -> &'static str {
        match self {
            Category::Lock => "lock",
            Category::Channel => "chan",
            Category::Task => "task",
            Category::WaitGroup => "wg",
            Category::Time => "time",
            Category::Other => "other",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Category::Lock => "locks",
            Category::Channel => "channels",
            Category::Task => "tasks",
            Category::WaitGroup => "wait groups",
            Category::Time => "time and cancellation",
            Category::Other => "other",
        }
    }
}

fn category(event: &TraceEvent) -> Category {
    if let Some(object) = &event.object {
        let kind = object.kind.to_ascii_lowercase();
        if kind.contains("mutex")
            || kind.contains("rwlock")
            || kind.contains("condvar")
            || kind.contains("lock")
        {
            return Category::Lock;
        }
        if kind.contains("chan") {
            return Category::Channel;
        }
        if kind.contains("waitgroup") {
            return Category::WaitGroup;
        }
        if kind.contains("task") || kind.contains("handle") {
            return Category::Task;
        }
        if kind.contains("context") || kind.contains("timer") {
            return Category::Time;
        }
    }
    match event.operation.as_str() {
        "spawn" | "join" | "exit" | "yield" | "finish" => Category::Task,
        "lock" | "unlock" | "try_lock" | "read" | "write" => Category::Lock,
        "send" | "recv" | "close" | "select" | "try_send" | "try_recv" => Category::Channel,
        "sleep" | "cancel" | "after" | "deadline" => Category::Time,
        _ => Category::Other,
    }
}

fn kind_slug(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Deadlock => "deadlock",
        ReportKind::Leak => "leak",
        ReportKind::Unjoined => "unjoined",
        ReportKind::Panic => "panic",
        ReportKind::Misuse => "misuse",
        ReportKind::StepLimit => "step-limit",
        ReportKind::DataRace => "data-race",
    }
}

/// The colour of a kind, strong and soft.
fn kind_colour(kind: ReportKind) -> (&'static str, &'static str) {
    match kind {
        ReportKind::Deadlock | ReportKind::Panic => ("#cf222e", "#ffebe9"),
        ReportKind::Leak => ("#bc4c00", "#fff1e5"),
        ReportKind::Unjoined => ("#9a6700", "#fff8c5"),
        ReportKind::Misuse => ("#8250df", "#fbefff"),
        ReportKind::StepLimit => ("#0969da", "#ddf4ff"),
        ReportKind::DataRace => ("#bf3989", "#ffeff7"),
    }
}

/// The headline, worded as the text rendering words it.
fn headline(kind: ReportKind) -> String {
    match kind {
        ReportKind::StepLimit => "knot hit the step limit".to_string(),
        ReportKind::Unjoined => format!("knot found an {kind}"),
        _ => format!("knot found a {kind}"),
    }
}

/// The badge on a task the report is about.
fn involved_badge(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Deadlock => "deadlocked",
        ReportKind::Leak => "leaked",
        ReportKind::Unjoined => "not joined",
        ReportKind::DataRace => "racing",
        _ => "involved",
    }
}

/// What a highlighted lane means, for the key above the timeline.
fn involved_word(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Deadlock => "in the deadlock",
        ReportKind::Leak => "leaked",
        ReportKind::Unjoined => "not joined before exit",
        ReportKind::DataRace => "in the race",
        _ => "involved",
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

const STYLE: &str = r#"
:root {
  --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --faint: #eaeef2;
  --bg: #ffffff; --soft: #f6f8fa;
  --label: 190px; --end: 250px;
  --step: clamp(var(--step-min), calc((100vw - 560px) / var(--steps)), 140px);
  --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
code, .site, .mono { font-family: var(--mono); font-size: 12.5px; }
.muted { color: var(--muted); }
header.head { padding: 16px 28px 14px; background: var(--kind-soft); border-top: 6px solid var(--kind); border-bottom: 1px solid var(--line); }
.kind { display: inline-block; padding: 1px 9px; border-radius: 4px; background: var(--kind); color: #fff; font-size: 12px; font-weight: 700; letter-spacing: .06em; text-transform: uppercase; }
h1 { margin: 6px 0 2px; font-size: 21px; }
.message { margin: 0 0 10px; font-size: 15.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code.replay { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 1px 6px; user-select: all; }
main { padding: 4px 28px 32px; }
h2 { margin: 20px 0 6px; font-size: 16px; }
p.note { margin: 0 0 8px; color: var(--muted); }
.key { display: inline-block; width: 26px; height: 12px; margin: 0 3px 0 10px; vertical-align: -1px; border-radius: 2px; }
.key-blocked { background: repeating-linear-gradient(135deg, #f5b3b8 0 4px, #ffe4e6 4px 8px); border: 1px solid #e5898f; }
.key-involved { background: var(--kind-soft); border: 1px solid var(--kind); border-left-width: 4px; }
p.legend { margin: 0 0 8px; }
.ev-key { display: inline-block; margin-right: 6px; padding: 0 8px; border-radius: 9px; border: 1px solid; font-size: 12px; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
.timeline { min-width: max-content; }
.axis, .lane { display: grid; align-items: center; }
.axis { height: 28px; background: var(--soft); border-bottom: 1px solid var(--line); color: var(--muted); font-size: 12px; }
.axis .label { align-self: stretch; display: flex; align-items: center; }
.tick { text-align: center; font-family: var(--mono); }
.tick.gap { border-left: 2px dotted #afb8c1; }
.tick.end { text-align: left; padding-left: 14px; font-family: inherit; }
.lane { min-height: 52px; border-bottom: 1px solid var(--faint); }
.lane:last-child { border-bottom: none; }
.lane > * { grid-row: 1; }
.label { grid-column: 1; position: sticky; left: 0; z-index: 3; align-self: stretch; padding: 6px 10px 6px 12px; background: var(--bg); border-right: 1px solid var(--line); display: flex; flex-direction: column; justify-content: center; min-width: 0; }
.label .top { display: flex; align-items: baseline; min-width: 0; }
.label .sub:empty { display: none; }
.tid { display: inline-block; min-width: 22px; margin-right: 7px; padding: 0 4px; border-radius: 4px; background: var(--faint); color: var(--muted); font: 600 11px/1.6 var(--mono); text-align: center; }
.tname { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.badge { display: inline-block; margin: 2px 5px 0 0; padding: 0 7px; border-radius: 9px; background: var(--kind); color: #fff; font-size: 10.5px; font-weight: 700; letter-spacing: .04em; text-transform: uppercase; }
.tag { display: inline-block; margin: 2px 5px 0 0; padding: 0 6px; border-radius: 9px; border: 1px solid var(--line); color: var(--muted); font-size: 10.5px; }
.lane.involved { background: var(--kind-soft); }
.lane.involved > .label { background: var(--kind-soft); box-shadow: inset 5px 0 var(--kind); }
.life { height: 2px; margin: 0 calc(var(--step) / 2); background: #8c959f; z-index: 0; }
.band { height: 34px; margin-left: calc(var(--step) / 2); background: repeating-linear-gradient(135deg, #f5b3b8 0 6px, #ffe4e6 6px 12px); border: 1px solid #e5898f; border-right: none; border-radius: 6px 0 0 6px; z-index: 0; }
.tail { height: 0; margin-left: calc(var(--step) / 2); border-top: 2px dashed #8c959f; z-index: 0; }
.band.whole, .tail.whole { margin-left: 0; border-radius: 0; }
.cell { z-index: 1; display: flex; flex-direction: column; gap: 2px; padding: 3px 2px; min-width: 0; }
.ev { padding: 2px 4px; border: 1px solid; border-radius: 6px; font-size: 12px; line-height: 1.25; text-align: center; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ev .op { display: block; font-weight: 600; overflow: hidden; text-overflow: ellipsis; }
.ev .obj { display: block; font-family: var(--mono); font-size: 11px; overflow: hidden; text-overflow: ellipsis; }
.ev.blocking { box-shadow: 0 0 0 2px var(--kind); }
.cat-lock { background: #ddf4ff; border-color: #54aeff; color: #0a3069; }
.cat-chan { background: #dafbe1; border-color: #4ac26b; color: #044f1e; }
.cat-task { background: #fbefff; border-color: #c297ff; color: #512a97; }
.cat-wg { background: #fff8c5; border-color: #d4a72c; color: #4d2d00; }
.cat-time { background: #e0f7f7; border-color: #3fb2b2; color: #0b4f4f; }
.cat-other { background: #f6f8fa; border-color: #afb8c1; color: #24292f; }
.final { z-index: 2; padding: 4px 14px; display: flex; flex-direction: column; align-items: flex-start; min-width: 0; }
.final .site { font-size: 11px; color: var(--muted); background: rgba(255, 255, 255, .85); padding: 0 4px; border-radius: 3px; }
.state { font-size: 13px; padding: 0 4px; border-radius: 3px; white-space: nowrap; }
.state.blocked { color: #a40e26; font-weight: 700; background: rgba(255, 255, 255, .85); }
.state.panicked { color: #a40e26; font-weight: 600; }
.state.finished { color: #1a7f37; }
.state.runnable { color: #9a6700; font-weight: 600; }
svg.graph { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
svg .edge { fill: none; stroke: #57606a; stroke-width: 1.6; }
svg .edge.hot { stroke: var(--kind); stroke-width: 2.4; }
svg .node rect { fill: #fff; stroke: #8c959f; stroke-width: 1.4; }
svg .node.involved rect { fill: var(--kind-soft); stroke: var(--kind); stroke-width: 2; }
svg .node.nobody rect { fill: var(--soft); stroke-dasharray: 4 3; }
svg text { text-anchor: middle; font-family: system-ui, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
svg text.name { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg text.sub { font-size: 11px; fill: var(--muted); }
svg text.edge-label { font-family: var(--mono); font-size: 12px; fill: var(--fg); paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
ul.edges { margin: 10px 0 0; padding-left: 20px; }
ul.edges li { margin: 3px 0; }
.arrow { color: var(--muted); }
.chip { display: inline-flex; align-items: baseline; padding: 0 6px 0 0; border-radius: 4px; background: var(--soft); border: 1px solid var(--faint); font-weight: 600; }
.chip .tid { margin-right: 5px; }
.chip.involved { background: var(--kind-soft); border-color: var(--kind); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 10px; border-bottom: 1px solid var(--faint); }
th { font-size: 12px; color: var(--muted); font-weight: 600; border-bottom-color: var(--line); }
td.num { font-family: var(--mono); color: var(--muted); }
td.site, .site { color: var(--muted); overflow-wrap: anywhere; }
table.tasks td.site { white-space: nowrap; }
tr.involved td { background: var(--kind-soft); }
.pre { white-space: pre-wrap; }
details { margin-top: 20px; }
summary { cursor: pointer; font-weight: 600; font-size: 15px; }
"#;

/// Scrolls a long timeline to its end, where the tasks ended up, and marks
/// the page as rendered (which tests of the page look for).
const SCRIPT: &str = r#"<script>
(function () {
  var scroll = document.querySelector(".scroll");
  if (scroll && scroll.scrollWidth > scroll.clientWidth) {
    scroll.scrollLeft = scroll.scrollWidth;
  }
  document.documentElement.setAttribute("data-rendered", "ok");
})();
</script>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Blocked, SearchInfo, Site, WaitEdge};

    fn site(line: u32) -> Site {
        Site {
            file: "tests/abba.rs".to_string(),
            line,
            column: 9,
        }
    }

    fn mutex(id: u64) -> ObjectRef {
        ObjectRef {
            id,
            kind: "Mutex".to_string(),
            created: Some(site(id as u32)),
        }
    }

    fn task(id: u64, name: &str, involved: bool) -> TaskReport {
        TaskReport {
            id,
            name: name.to_string(),
            spawn_site: (id != 0).then(|| site(10 + id as u32)),
            state: TaskState::Finished,
            blocked_on: None,
            holds: Vec::new(),
            daemon: false,
            involved,
        }
    }

    fn event(step: u64, task: u64, operation: &str, object: Option<ObjectRef>) -> TraceEvent {
        TraceEvent {
            step,
            task,
            operation: operation.to_string(),
            object,
            site: Some(site(20 + step as u32)),
        }
    }

    fn abba() -> Report {
        let mut report = Report::new(ReportKind::Deadlock, "every task is blocked");
        report.test = Some("abba".to_string());
        let mut main = task(0, "main", false);
        main.state = TaskState::Blocked;
        main.blocked_on = Some(Blocked {
            object: ObjectRef {
                id: 1,
                kind: "task".to_string(),
                created: None,
            },
            operation: "join".to_string(),
            site: Some(site(30)),
        });
        let mut a = task(1, "worker-a", true);
        a.state = TaskState::Blocked;
        a.blocked_on = Some(Blocked {
            object: mutex(2),
            operation: "lock".to_string(),
            site: Some(site(14)),
        });
        a.holds = vec![mutex(1)];
        let mut b = task(2, "worker-b", true);
        b.state = TaskState::Blocked;
        b.blocked_on = Some(Blocked {
            object: mutex(1),
            operation: "lock".to_string(),
            site: Some(site(16)),
        });
        b.holds = vec![mutex(2)];
        let logger = task(3, "logger", false);
        report.tasks = vec![main, a, b, logger];
        report.wait_for = vec![
            WaitEdge {
                task: 1,
                object: mutex(2),
                holders: vec![2],
            },
            WaitEdge {
                task: 2,
                object: mutex(1),
                holders: vec![1],
            },
        ];
        report.trace = vec![
            event(0, 0, "spawn", None),
            event(1, 0, "spawn", None),
            event(2, 1, "lock", Some(mutex(1))),
            event(3, 2, "lock", Some(mutex(2))),
            event(4, 1, "lock", Some(mutex(2))),
            event(5, 2, "lock", Some(mutex(1))),
            event(6, 0, "join", None),
        ];
        report.schedule = "1:0.1*3.2".to_string();
        report.search = Some(SearchInfo {
            preemptions: 1,
            strategy: "random".to_string(),
            seed: 42,
            execution: 17,
        });
        report
    }

    /// The opening tag of the lane of task `id`, and the lane's content.
    fn lane(html: &str, id: u64) -> (&str, &str) {
        let marker = format!("data-task=\"{id}\"");
        let at = html.find(&marker).expect("the task has a lane");
        let open = html[..at].rfind('<').unwrap();
        let tag_end = at + html[at..].find('>').unwrap();
        let rest = &html[tag_end..];
        let end = rest
            .find("<div class=\"lane")
            .unwrap_or_else(|| rest.find("</div>\n</div>\n</section>").unwrap());
        (&html[open..=tag_end], &rest[..end])
    }

    #[test]
    fn every_task_gets_a_lane() {
        let report = abba();
        let html = report.to_html();
        for task in &report.tasks {
            let (tag, body) = lane(&html, task.id);
            assert!(tag.starts_with("<div class=\"lane"), "{tag}");
            assert!(body.contains(&format!(">{}</span>", task.name)), "{body}");
        }
        assert_eq!(html.matches("data-task=").count(), report.tasks.len());
        assert_eq!(
            html.matches("<div class=\"lane").count(),
            report.tasks.len()
        );
    }

    #[test]
    fn a_task_only_in_the_trace_still_gets_a_lane() {
        let mut report = abba();
        report.trace.push(event(7, 9, "yield", None));
        let html = report.to_html();
        let (_, body) = lane(&html, 9);
        assert!(body.contains("task 9"), "{body}");
        assert!(body.contains("not in the report"), "{body}");
    }

    #[test]
    fn events_sit_in_their_task_lane_at_their_step() {
        let html = abba().to_html();
        // Steps 0..=6 are columns 2..=8; the end is column 9.
        let (_, a) = lane(&html, 1);
        assert!(
            a.contains("grid-column: 4\"><div class=\"ev cat-lock\""),
            "{a}"
        );
        assert!(
            a.contains("grid-column: 6\"><div class=\"ev cat-lock blocking\""),
            "{a}"
        );
        assert!(!a.contains("grid-column: 5\">"), "{a}");
        let (_, b) = lane(&html, 2);
        assert!(b.contains("grid-column: 5\">"), "{b}");
        assert!(b.contains("<span class=\"obj\">Mutex#1</span>"), "{b}");
    }

    #[test]
    fn a_blocked_task_is_shaded_to_the_end() {
        let html = abba().to_html();
        let (_, a) = lane(&html, 1);
        assert!(
            a.contains("<div class=\"band\" style=\"grid-column: 6 / -1\"></div>"),
            "{a}"
        );
        assert!(a.contains("blocked in lock on Mutex#2"), "{a}");
        assert!(a.contains("at tests/abba.rs:14:9"), "{a}");
        let (_, logger) = lane(&html, 3);
        assert!(!logger.contains("class=\"band"), "{logger}");
        assert!(logger.contains("finished"), "{logger}");
    }

    #[test]
    fn a_blocked_task_without_events_is_shaded_across() {
        let mut report = abba();
        report.trace.retain(|event| event.task != 1);
        let html = report.to_html();
        let (_, a) = lane(&html, 1);
        assert!(
            a.contains("<div class=\"band whole\" style=\"grid-column: 2 / -1\"></div>"),
            "{a}"
        );
    }

    #[test]
    fn involved_tasks_are_marked() {
        let html = abba().to_html();
        for (id, involved) in [(0, false), (1, true), (2, true), (3, false)] {
            let (tag, body) = lane(&html, id);
            assert_eq!(tag.contains("data-involved=\"true\""), involved, "{tag}");
            assert_eq!(tag.contains("class=\"lane involved\""), involved, "{tag}");
            assert_eq!(body.contains("deadlocked"), involved, "{body}");
        }
    }

    #[test]
    fn text_from_the_report_is_escaped() {
        let mut report = abba();
        report.tasks[1].name = "<script>alert(1)</script>".to_string();
        report.message = "a & b < c \"quoted\" 'single'".to_string();
        report.test = Some("tests::<T>".to_string());
        report.tasks[2].spawn_site = Some(Site {
            file: "src/\"odd\" <dir>/a&b.rs".to_string(),
            line: 1,
            column: 1,
        });
        report.trace[2].operation = "<img src=x onerror=alert(2)>".to_string();
        let html = report.to_html();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("a &amp; b &lt; c &quot;quoted&quot; &#39;single&#39;"));
        assert!(html.contains("tests::&lt;T&gt;"));
        assert!(html.contains("src/&quot;odd&quot; &lt;dir&gt;/a&amp;b.rs"));
        assert!(!html.contains("<img"), "{html}");
        // The page's own script is the only one.
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn the_header_says_what_and_how_to_replay() {
        let html = abba().to_html();
        assert!(html.contains("<span class=\"kind\">deadlock</span>"));
        assert!(html.contains("<h1>knot found a deadlock</h1>"));
        assert!(html.contains("every task is blocked"));
        assert!(html.contains("<code>abba</code>"));
        assert!(html.contains("<code>1:0.1*3.2</code>"));
        assert!(html.contains("KNOT_REPLAY=&#39;1:0.1*3.2&#39; cargo test abba"));
        assert!(html.contains("<title>knot: deadlock in abba</title>"));
    }

    #[test]
    fn the_replay_command_matches_the_text() {
        let mut report = abba();
        report.test = Some("it's a test".to_string());
        report.schedule = "it's".to_string();
        let text = report.to_string();
        let command = report.replay_command();
        assert!(text.ends_with(&format!("replay: {command}")), "{text}");
    }

    #[test]
    fn the_wait_for_graph_is_drawn_and_listed() {
        let html = abba().to_html();
        assert!(html.contains("<svg class=\"graph\""));
        assert_eq!(html.matches("<path class=\"edge hot\"").count(), 2);
        assert!(html.contains(
            "held by <span class=\"chip involved\"><span class=\"tid\">2</span>worker-b</span>"
        ));
        assert!(html.contains("<text class=\"edge-label\""));
    }

    #[test]
    fn a_graph_edge_nobody_can_release_is_drawn() {
        let mut report = abba();
        report.wait_for = vec![WaitEdge {
            task: 0,
            object: ObjectRef {
                id: 5,
                kind: "Channel".to_string(),
                created: None,
            },
            holders: Vec::new(),
        }];
        let html = report.to_html();
        assert!(html.contains("nobody can wake it</li>"));
        assert!(html.contains("<g class=\"node nobody\">"));
    }

    #[test]
    fn a_report_without_trace_or_tasks_still_renders() {
        let report = Report::new(ReportKind::Misuse, "unlock of a Mutex nobody holds");
        let html = report.to_html();
        assert!(html.contains("<h1>knot found a misuse</h1>"));
        assert!(html.contains("does not replay"));
        assert!(!html.contains("data-task="));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn the_page_loads_nothing() {
        let html = abba().to_html();
        for needle in [
            "http:", "https:", "src=", "href=", "<link", "@import", "url(http",
        ] {
            assert!(!html.contains(needle), "{needle}");
        }
    }

    #[test]
    fn the_page_is_deterministic() {
        assert_eq!(abba().to_html(), abba().to_html());
    }

    #[test]
    fn escaping_covers_every_special_character() {
        assert_eq!(
            Esc("<a href=\"x\">'&'</a>\0").to_string(),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{FFFD}"
        );
        assert_eq!(Esc("plain ünïcode").to_string(), "plain ünïcode");
    }
}
