"""Usual column names of exports, English and French, for each canonical column.

Compared as :func:`prisme.ingest.mapping.name_key` gives them: lower case, no accents, no
spaces or punctuation (``N° client`` → ``nclient``). Earlier names in a list win over later
ones; the canonical name itself always comes first.
"""

SYNONYMS: dict[str, list[str]] = {
    "source_customer_id": [
        "customerid", "custid", "customerno", "customernumber", "customercode", "clientid",
        "idclient", "numclient", "noclient", "nclient", "numeroclient", "codeclient", "refclient",
        "referenceclient", "identifiantclient", "contactid", "idcontact", "accountid", "customer",
        "client", "clientno", "userid", "memberid", "numadherent", "idadherent"],
    "first_name": ["firstname", "prenom", "givenname", "forename", "fname", "prenoms"],
    "last_name": [
        "lastname", "nom", "surname", "familyname", "nomdefamille", "lname", "nomclient",
        "nomdusage", "name"],
    "company": [
        "company", "companyname", "societe", "raisonsociale", "entreprise", "organisation",
        "organization", "account", "accountname"],
    "business_unit": ["businessunit", "bu", "division"],
    "department": ["department", "departement", "service", "dept"],
    "email": [
        "email", "mail", "courriel", "emailaddress", "adressemail", "adresseemail",
        "adressecourriel", "mel", "emailaddr"],
    "phone": [
        "phone", "telephone", "tel", "phonenumber", "mobile", "portable", "gsm", "numerotelephone",
        "numtel", "telmobile", "cellphone", "mobilephone", "telephoneportable", "telephonefixe"],
    "fax": ["fax", "telecopie", "faxnumber", "numerofax"],
    "address_line": [
        "address", "adresse", "street", "rue", "addressline", "addressline1", "adresse1",
        "adresseligne1", "streetaddress", "voie", "adressepostale"],
    "postal_code": ["postalcode", "postcode", "zip", "zipcode", "codepostal", "cp", "zipprefix",
                    "cep"],
    "city": ["city", "ville", "town", "commune", "localite"],
    "country": ["country", "pays", "countrycode", "codepays", "countryname"],
    "gender": ["gender", "sex", "sexe", "civilite", "civility", "title", "salutation"],
    "nationality": ["nationality", "nationalite"],
    "birth_date": [
        "birthdate", "dateofbirth", "dob", "datedenaissance", "datenaissance", "naissance",
        "birthday", "nele", "datenais"],
    "branch": [
        "branch", "agence", "store", "magasin", "boutique", "succursale", "shop", "pointdevente"],
    "advisor": [
        "advisor", "adviser", "conseiller", "salesrep", "accountmanager", "commercial", "vendeur",
        "gestionnaire", "owner"],
    "consent_email": [
        "consentemail", "optinemail", "emailoptin", "optinmail", "accordemail", "consentementemail",
        "newsletter"],
    "consent_phone": [
        "consentphone", "optinphone", "phoneoptin", "optintel", "optinsms", "consentementtelephone",
        "accordtelephone"],
    "consent_post": [
        "consentpost", "optinpost", "postoptin", "optincourrier", "consentementcourrier",
        "accordcourrier", "mailoptin"],
    "annual_revenue": [
        "annualrevenue", "chiffredaffaires", "chiffreaffaires", "ca", "caannuel", "turnover"],
    "created_at": [
        "createdat", "creationdate", "datecreation", "datedecreation", "createdon", "created",
        "signupdate", "dateinscription", "registrationdate", "customersince", "clientdepuis"],
    "updated_at": [
        "datemodif", "modif", "datedemodification", "lastmodifieddate", "updatedat", "lastmodified",
        "datemodification", "modifiedat", "updatedon", "datemaj", "lastupdate", "datemiseajour",
        "modified", "updated"],
    "kind": [
        "type", "typeappel", "calltype", "kind", "customertype", "typeclient", "typedeclient",
        "clienttype", "typepersonne"],
    "sku": [
        "codeart", "refart", "codearticle", "sku", "stockcode", "productcode", "itemcode",
        "reference", "ref", "refproduit", "referenceproduit", "codearticle", "article", "productid",
        "itemid", "ean", "codeproduit", "idproduit", "product", "produit", "item"],
    "name": [
        "productname", "name", "description", "libelle", "designation", "nomproduit", "itemname",
        "libelleproduit", "nom"],
    "category": [
        "category", "categorie", "famille", "rayon", "productcategory", "categorieproduit", "gamme",
        "univers", "categoryname"],
    "unit_price": [
        "prixdeventettc", "prixventettc", "prixdevente", "pvttc", "prixttc", "unitprice", "price",
        "prixunitaire", "prix", "pu", "prixunitairettc", "prixunitaireht", "puttc", "puht",
        "prixvente", "sellingprice"],
    "unit_cost": [
        "unitcost", "cost", "cout", "coutunitaire", "prixachat", "prixdachat", "purchaseprice"],
    "order_id": [
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "orderno", "ordernumber",
        "order", "commande", "numcommande", "ncommande", "nocommande", "numerocommande",
        "idcommande", "refcommande", "facture", "numfacture", "nfacture", "numerofacture",
        "transactionid", "ticket", "numticket", "receiptid"],
    "ordered_at": [
        "invoicedate", "orderdate", "datecommande", "datedecommande", "date", "datefacture",
        "transactiondate", "purchasedate", "dateachat", "orderedat", "dateticket", "datevente",
        "saledate", "purchasetimestamp", "purchasedatetime", "purchasedat"],
    "quantity": [
        "quantity", "qty", "quantite", "qte", "nombre", "units", "nbarticles", "quantites"],
    "revenue": [
        "revenue", "amount", "montant", "montantttc", "totalttc", "total", "montantht", "totalht",
        "sales", "linetotal", "totalamount", "amountttc", "ca", "chiffredaffaires", "montanttotal",
        "prixtotal", "totalprice"],
    "cost": ["cost", "cout", "costamount", "couttotal", "prixdachat"],
    "currency": ["currency", "devise", "monnaie", "currencycode"],
    "payment_method": [
        "paymentmethod", "modepaiement", "moyenpaiement", "payment", "reglement", "modereglement",
        "modedepaiement", "moyendepaiement"],
    "due_at": ["duedate", "dateecheance", "echeance", "dueat"],
    "paid_at": ["paymentdate", "datepaiement", "paidat", "datereglement", "paiddate"],
    "channel": ["channel", "canal", "canalvente", "saleschannel", "media"],
    "is_return": ["isreturn", "retour", "return", "avoir", "returned"],
    "status": ["status", "orderstatus", "statut", "etat", "statutcommande", "etatcommande"],
    "session_id": ["sessionid", "session", "idsession", "visitid"],
    "started_at": [
        "startedat", "starttime", "sessionstart", "datedebut", "debut", "startdate",
        "datelancement", "launchdate", "visitdate"],
    "ip": ["ip", "ipaddress", "adresseip"],
    "landing_page": ["landingpage", "pagedentree", "entrypage", "page", "url"],
    "clicks": ["clicks", "clics", "pageviews", "pages"],
    "duration_s": [
        "durationsec", "dureesec", "dureeensecondes", "durations", "duration", "duree", "dureesec",
        "dureesecondes", "durationseconds", "seconds"],
    "referrer": ["referrer", "referer", "source", "provenance"],
    "device": ["device", "appareil", "terminal", "devicetype"],
    "call_id": ["callid", "idappel", "appelid", "contactid", "ticketid", "interactionid"],
    "at": [
        "starttime", "calltime", "start", "heureappel", "at", "calldate", "dateappel",
        "datecontact", "contactdate", "datetime", "timestamp", "heure"],
    "direction": ["direction", "sens", "inout", "entrantsortant"],
    "reason": ["reason", "motif", "objet", "subject", "raison"],
    "outcome": ["outcome", "resultat", "issue", "result", "statut", "status"],
    "agent": ["agent", "operator", "operateur", "conseiller", "teleconseiller"],
    "campaign_id": [
        "campaignname", "campaignid", "idcampagne", "campagneid", "codecampagne", "campaign",
        "campagne", "campaigncode"],
    "ended_at": ["endedat", "enddate", "datefin", "fin"],
    "product_or_category": [
        "familleciblee", "categorieciblee", "produitcible", "famille", "productorcategory",
        "produitoucategorie", "offre", "offer", "target", "cible"],
    "contacted_at": [
        "sent", "sentdate", "envoi", "envoye", "contactedat", "contactdate", "datecontact",
        "dateenvoi", "sentat", "senddate", "datedenvoi"],
    "group": ["group", "groupe", "testgroup", "cell", "cellule", "treatment", "segment"],
    "opened": ["opened", "ouvert", "open", "ouverture"],
    "clicked": ["clicked", "clique", "click"],
    "responded": ["responded", "repondu", "response", "reponse"],
    "converted_at": [
        "converted", "convertedon", "converti", "convertedat", "conversiondate", "dateconversion"],
    "response_revenue": [
        "revenue", "montantconverti", "ca", "responserevenue", "caresponse", "montantreponse",
        "spend", "conversionrevenue"],
    "answered_at": [
        "answeredat", "datereponse", "responsedate", "surveydate", "dateenquete",
        "datequestionnaire", "answertimestamp", "answerdate", "creationdate"],
    "sat_product": ["satproduct", "satisfactionproduit", "satproduit", "productsatisfaction"],
    "sat_service": ["satservice", "satisfactionservice", "servicesatisfaction"],
    "sat_company": [
        "satisfactionenseigne", "satisfactionmagasin", "satisfactionmarque", "satcompany",
        "satisfactionentreprise", "satisfactionglobale", "overallsatisfaction", "satisfaction",
        "score", "reviewscore", "rating", "stars", "note"],
    "nps": [
        "recommandation010", "recommend", "likelytorecommend", "nps", "recommandation",
        "likelihoodtorecommend", "netpromoterscore"],
    "comment": ["comment", "commentaire", "verbatim", "remarque", "comments", "commentmessage",
                "message"],
    "date": ["date", "day", "jour"],
    "spend": ["spend", "depense", "depenses", "cost", "cout", "budget", "adspend"],
    "impressions": ["impressions", "impr", "vues", "views"],
}
