"""PACS connectivity in the workstation: File > Query PACS…, File > Send to PACS, Settings > PACS Nodes."""
