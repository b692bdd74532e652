import csv
import json

from pipelines.cli import main


def test_register_writes_html_csv_and_algoritmeregister_exports(tmp_path, capsys):
    assert main(["register", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("wrote the register of the standard tables and the monitor and 6 selection(s) "
                                                "(signal-list counts included):")
    rows = list(csv.DictReader((tmp_path / "register.csv").open(encoding="utf-8")))
    standard = rows.pop(0)
    assert standard["id"] == "stapeling-standaardtabellen" and standard["doel"] == "stapelingsmonitor"
    monitor = rows.pop(0)
    assert monitor["id"] == "monitor-vroegsignalering" and monitor["doel"] == "monitor-vroegsignalering"
    assert standard["velden"] == ("brp.huishouden; uitkeringen.ingangsdatum; uitkeringen.einddatum; "
                                  "vroegsignalen.signaaldatum; wmo.ingangsdatum; wmo.einddatum")
    assert [r["id"] for r in rows] == ["inhouding-zonder-budgetbeheer", "kinderen-uitkering-huurachterstand",
                                       "ouderen-wmo-en-achterstand", "stapeling-drie-domeinen",
                                       "verse-achterstand-zorg-energie", "verse-achterstand-zorg-energie-signaallijst"]
    kids = rows[1]
    assert kids["velden"] == ("brp.aantal_minderjarigen; uitkeringen.ingangsdatum; uitkeringen.einddatum; "
                              "vroegsignalen.signaalpartner; vroegsignalen.signaaldatum")
    assert kids["link_wettelijke_basis"] == "https://wetten.overheid.nl/BWBR0015703"
    assert len(kids["versie"]) == 64

    export = json.loads((tmp_path / "algoritmeregister" / "verse-achterstand-zorg-energie.json").read_text("utf-8"))
    for key in ("naam", "organisatie", "korte_omschrijving", "doel_en_impact", "wettelijke_basis", "gegevens",
                "menselijke_tussenkomst", "risicobeheer", "impacttoetsen", "status"):
        assert export[key], key
    assert len(export["korte_omschrijving"]) <= 150
    assert export["impacttoetsen"][0]["id"] == "DPIA-WIJKSIGNAAL-2026-01"
    assert export["status"] == "in gebruik"
    assert {g["bron"] for g in export["gegevens"]} == {"vroegsignalen"}

    # every line of it is true: secondary suppression is applied (issue 11 found "not yet applied")
    assert any(r.startswith("Cellen met 1 tot en met 9 eenheden worden afgeschermd (primaire afscherming). "
                            "Daarnaast worden andere cellen afgeschermd (secundaire afscherming)")
               for r in export["risicobeheer"])
    html = (tmp_path / "register.html").read_text(encoding="utf-8")
    assert "nog niet toegepast" not in html
    assert '<h2 id="stapeling-standaardtabellen">' in html
    assert '<h2 id="ouderen-wmo-en-achterstand">75-plussers met Wmo-ondersteuning en een betalingsachterstand</h2>' in html
    assert "art. 2.1.2 en 2.3.2 Wmo 2015" in html
    assert "<code>leeftijd</code>: leeftijd in jaren: het jaar van de peilmaand min het geboortejaar" in html
    # what every run loads, whichever selections run (issue 11: the register understated it)
    assert "<li><code>bsn</code>: gepseudonimiseerd (HMAC-SHA256 met de sleutel buiten het datapakhuis)</li>" in html
    assert "<li><code>geboortedatum</code>: alleen het geboortejaar wordt bewaard</li>" in html
    assert "<td>inhouding_bedrag</td>" in html and "<td>productcode</td>" in html
    assert "wijksignaal controleert dat die er staat, niet wie haar gaf" in html
    assert "dwingt die nog niet automatisch af" not in html  # retention is enforced (rule R1) since issue 14
    assert "verwijderen wat ouder is dan de langste termijn van de doelen die de bron lezen, regel R1" in html
    # the vroegsignalering monitor has its own entry, under the DPIA's monitor purpose
    assert '<h2 id="monitor-vroegsignalering">Monitor vroegsignalering schulden (de tabellen monitor:*)</h2>' in html
    assert "(ook 0 wordt afgeschermd)" in html
