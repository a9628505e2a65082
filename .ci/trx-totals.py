# Totals of the TRX files under TestResults/: prints 'N passed, N failed, N skipped'; exit 1 when none ran or any failed.
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
files = glob.glob("TestResults/**/*.trx", recursive=True)
passed = failed = skipped = 0
for f in files:
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error"))
    skipped += int(c.get("total")) - int(c.get("executed"))  # a skipped test is in total, not executed
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if not files or passed == 0 or failed else 0)
