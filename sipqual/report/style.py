"""The report's stylesheet, inlined into the HTML (no external fonts or files). Screen and print (A4 landscape,
cover, topology, results, listing and each case of the appendix start a new page)."""

CSS = """
:root { --pass:#1d7a35; --fail:#b02a2a; --na:#4a6f8a; --error:#c0661a; --notrun:#6b6b6b; --ink:#1b2631; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 1180px; padding: 24px 28px; font-size: 13px; line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; border-bottom: 2px solid #2c3e50; padding-bottom: 3px; margin-top: 34px; }
h3 { font-size: 15px; margin: 22px 0 8px; }
table { border-collapse: collapse; width: calc(100% - 2px); margin: 8px 0 14px; }  /* collapsed borders poke out
   by half their width: without the 2px the right border is clipped in print */
th, td { border: 1px solid #c5ccd3; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
code, pre, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 11.5px; }
pre { background: #f6f8fa; border: 1px solid #dde2e6; padding: 8px; white-space: pre-wrap; word-break: break-all; }
.muted { color: #5d6d7e; }
.small { font-size: 11.5px; }
.v { display: inline-block; padding: 1px 7px; border-radius: 3px; color: #fff; font-weight: 600; font-size: 11.5px;
     white-space: nowrap; }
.v-PASS { background: var(--pass); } .v-FAIL { background: var(--fail); } .v-NA { background: var(--na); }
.v-ERROR { background: var(--error); } .v-NOT_RUN { background: var(--notrun); }
.cover { border: 3px solid #2c3e50; border-radius: 10px; padding: 22px 26px; margin-bottom: 10px; }
.cover .kicker { text-transform: uppercase; letter-spacing: .08em; color: #5d6d7e; font-size: 12px; }
.outcome { font-size: 30px; font-weight: 700; padding: 8px 16px; border-radius: 8px; margin: 10px 0;
           display: inline-block; color: #fff; }
.o-qualified { background: var(--pass); } .o-limited { background: #b7791f; } .o-not { background: var(--fail); }
.o-incomplete { background: var(--notrun); }
.scope-line { font-size: 15px; font-weight: 600; margin: 2px 0 10px; padding: 6px 10px; border-left: 5px solid #2c3e50;
              background: #eef1f4; }
.catalogue { table-layout: fixed; } .catalogue td { font-size: 11px; }
.catalogue th:nth-child(1) { width: 10%; } .catalogue th:nth-child(2) { width: 9%; }
.catalogue th:nth-child(3) { width: 40%; } .catalogue th:nth-child(4) { width: 17%; } .catalogue tr.group td { background: #eef1f4; font-weight: 700; }
.catalogue tr.gap td { font-weight: 700; }
.cover table th { width: 230px; }
.cover th, .cover td { padding: 2px 6px; }
.counts td, .counts th { text-align: center; } .counts td:first-child, .counts th:first-child { text-align: left; }
.counts .total td { font-weight: 700; }
.listing td { font-size: 14px; }
.figure { overflow-x: auto; border: 1px solid #dde2e6; padding: 6px; background: #fff; }
.figure svg { max-width: 100%; height: auto; display: block; }
h2, h3, h4 { break-after: avoid; }
.figure { break-inside: avoid; }
.case { break-before: page; }
#appendix + .case { break-before: auto; }
section.major { break-before: page; }
.results { table-layout: fixed; }
.results td { font-size: 11px; overflow-wrap: anywhere; }
.results th:nth-child(1) { width: 9%; } .results th:nth-child(2) { width: 12%; } .results th:nth-child(3) { width: 8%; }
.results th:nth-child(4), .results th:nth-child(5) { width: 14%; } .results th:nth-child(6) { width: 20%; }
.results th:nth-child(7) { width: 6%; } .results th:nth-child(8) { width: 8%; } .results th:nth-child(9) { width: 9%; }
.nowrap, td.id { white-space: nowrap; }
td { overflow-wrap: anywhere; }
.ok { color: var(--pass); font-weight: 700; } .bad { color: var(--fail); font-weight: 700; }
ul.plain { padding-left: 18px; margin: 4px 0; }
a { color: #1f4e9e; }
@page { size: A4 landscape; margin: 11mm 10mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11.5px; }
  .figure { overflow: visible; border: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
}
"""
