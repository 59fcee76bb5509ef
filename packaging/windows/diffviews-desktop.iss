; Inno Setup script for DiffViews Desktop (built by packaging/windows/build_windows.ps1):
;   iscc /DAppVersion=0.1.0 /DSourceDir=...\build\dist\diffviews-desktop /DIconFile=...\build\icons\diffviews.ico
;        /O...\build packaging\windows\diffviews-desktop.iss
; Installs per user without admin rights by default (an admin can choose all users), adds a Start menu entry
; (and optionally a desktop one), and uninstalls cleanly from Settings > Apps.
#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z
#endif

[Setup]
AppId={{5B0C7E0A-3D4F-4C55-9E1B-7A1D2C6F8E31}
AppName=DiffViews Desktop
AppVersion={#AppVersion}
AppPublisher=DiffViews Desktop developers
AppPublisherURL=https://github.com/mckellcarter/diffviews
DefaultDirName={autopf}\DiffViews Desktop
DefaultGroupName=DiffViews Desktop
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=DiffViews-Desktop-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\diffviews-desktop.exe
UninstallDisplayName=DiffViews Desktop
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\DiffViews Desktop"; Filename: "{app}\diffviews-desktop.exe"
Name: "{autodesktop}\DiffViews Desktop"; Filename: "{app}\diffviews-desktop.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\diffviews-desktop.exe"; Description: "{cm:LaunchProgram,DiffViews Desktop}"; Flags: nowait postinstall skipifsilent
